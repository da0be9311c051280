"""Runs transaction_verification: `python -m transaction_verification` (listens on TRANSACTION_VERIFICATION_ADDR)."""

from __future__ import annotations

from transaction_verification.server import create_service
from utils.flow.settings import FlowSettings
from utils.rpc.bootstrap import listen_address, prepare_process
from utils.settings import FleetSettings, RuntimeSettings


def main() -> None:
    fleet, runtime, flow = FleetSettings(), RuntimeSettings(), FlowSettings()
    own = fleet.transaction_verification_addr
    prepare_process("transaction_verification", own, runtime)
    create_service(fleet, flow.limits(runtime), listen_address(own, runtime), runtime).run()


if __name__ == "__main__":
    main()
