"""Runs fraud_detection: `python -m fraud_detection` (listens on FRAUD_DETECTION_ADDR)."""

from __future__ import annotations

from fraud_detection.llm_assessor import LlmFraudAssessor
from fraud_detection.server import create_service
from fraud_detection.settings import FraudSettings
from utils.flow.settings import FlowSettings
from utils.llm.json_client import JsonChatClient
from utils.llm.settings import LlmSettings
from utils.rpc.bootstrap import listen_address, prepare_process
from utils.settings import FleetSettings, RuntimeSettings


def main() -> None:
    fleet, runtime, flow, fraud = FleetSettings(), RuntimeSettings(), FlowSettings(), FraudSettings()
    own = fleet.fraud_detection_addr
    prepare_process("fraud_detection", own, runtime)
    client = JsonChatClient(LlmSettings(), "fraud_detection")  # says once at start whether the LLM is on
    assessor = LlmFraudAssessor(client, fraud.llm_reject_confidence_min) if client.enabled else None
    create_service(fleet, flow.limits(runtime), listen_address(own, runtime), runtime, fraud, assessor).run()


if __name__ == "__main__":
    main()
