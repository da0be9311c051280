"""Runs suggestions: `python -m suggestions` (listens on SUGGESTIONS_ADDR)."""

from __future__ import annotations

from suggestions.server import create_service, llm_recommender
from utils.flow.settings import FlowSettings
from utils.llm.settings import LlmSettings
from utils.rpc.bootstrap import listen_address, prepare_process
from utils.settings import FleetSettings, RuntimeSettings


def main() -> None:
    fleet, runtime, flow = FleetSettings(), RuntimeSettings(), FlowSettings()
    own = fleet.suggestions_addr
    prepare_process("suggestions", own, runtime)
    create_service(
        fleet, flow.limits(runtime), listen_address(own, runtime), runtime, recommender=llm_recommender(LlmSettings())
    ).run()


if __name__ == "__main__":
    main()
