"""Runs fraud_detection: `python -m fraud_detection` (listens on FRAUD_DETECTION_ADDR)."""
from __future__ import annotations

from fraud_detection.server import create_service
from fraud_detection.settings import FraudSettings
from utils.flow.settings import FlowSettings
from utils.rpc.bootstrap import listen_address, prepare_process
from utils.settings import FleetSettings, RuntimeSettings


def main() -> None:
    fleet, runtime, flow, fraud = FleetSettings(), RuntimeSettings(), FlowSettings(), FraudSettings()
    own = fleet.fraud_detection_addr
    prepare_process("fraud_detection", own, runtime)
    create_service(fleet, flow.limits(runtime), listen_address(own, runtime), runtime, fraud).run()


if __name__ == "__main__":
    main()
