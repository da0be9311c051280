"""Which processes make up the local fleet, and how each one is started and checked.

Every service is in the table unconditionally: a renamed or missing service fails to start, loudly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from utils.settings import FleetSettings


class Probe(Enum):
    GRPC_HEALTH = "grpc"
    HTTP = "http"


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    name: str  # unique: also the log file's name
    module: str  # run as `python -m module`
    address: str  # host:port it serves on
    probe: Probe
    env: dict[str, str] = field(default_factory=dict)


def fleet_processes(settings: FleetSettings) -> list[ProcessSpec]:
    """Every process of the local fleet, in start order (dependencies first)."""
    return [
        *[
            ProcessSpec(node_id, "books_database", address, Probe.GRPC_HEALTH, {"NODE_ID": node_id})
            for node_id, address in settings.database_peers().items()
        ],
        ProcessSpec("payment_service", "payment_service", settings.payment_service_addr, Probe.GRPC_HEALTH),
        ProcessSpec("order_queue", "order_queue", settings.order_queue_addr, Probe.GRPC_HEALTH),
        ProcessSpec(
            "transaction_verification",
            "transaction_verification",
            settings.transaction_verification_addr,
            Probe.GRPC_HEALTH,
        ),
        ProcessSpec("fraud_detection", "fraud_detection", settings.fraud_detection_addr, Probe.GRPC_HEALTH),
        ProcessSpec("suggestions", "suggestions", settings.suggestions_addr, Probe.GRPC_HEALTH),
        *[
            ProcessSpec(node_id, "order_executor", address, Probe.GRPC_HEALTH, {"NODE_ID": node_id})
            for node_id, address in settings.executor_peers().items()
        ],
        ProcessSpec(
            "orchestrator", "orchestrator", f"{settings.orchestrator_host}:{settings.orchestrator_port}", Probe.HTTP
        ),
        ProcessSpec("frontend", "frontend", f"{settings.frontend_host}:{settings.frontend_port}", Probe.HTTP),
    ]
