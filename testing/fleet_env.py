"""The environment of a private fleet: every process on a free port of its own loopback host, every address
spelled out, plus the process sets and settings the tests, the benchmarks and the chaos tool start it with.
"""

from __future__ import annotations

import random
import socket
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from utils.settings import FleetSettings

LOOPBACK = "127.0.0.1"
# Replicas per Raft group (books, executors): 3 by default; 5 for the replica benchmark (bench/replicas.py). The
# replica ids come from the peer lists, so the roles (utils/rpc/core/authz.py) and certificates follow them.
REPLICAS_DEFAULT = 3
REPLICA_COUNTS = (3, 5)
_SINGLETONS = {
    "orchestrator": 2,
    "frontend": 3,
    "transaction_verification": 4,
    "fraud_detection": 5,
    "suggestions": 6,
    "order_queue": 7,
    "payment_service": 8,
}
# A group's replica i gets the last octet base + i (books-1 → 11, executor-5 → 25).
_GROUP_OCTET_BASE = {"books": 10, "executor": 20}


def replica_ids(group: str, replicas: int = REPLICAS_DEFAULT) -> list[str]:
    """The process names of one Raft group ("books" or "executor") with `replicas` members."""
    if replicas not in REPLICA_COUNTS:
        raise ValueError(f"replicas per group: one of {REPLICA_COUNTS}, not {replicas}")
    return [f"{group}-{i}" for i in range(1, replicas + 1)]


def processes(replicas: int = REPLICAS_DEFAULT) -> dict[str, int]:
    """Every process of a fleet with `replicas` per Raft group, by process name (utils/fleet/spec.py); the value
    is the last octet the chaos tool gives it on its own 127.0.R.x network (the third octet is the run's)."""
    replicated = {
        name: _GROUP_OCTET_BASE[group] + i
        for group in _GROUP_OCTET_BASE
        for i, name in enumerate(replica_ids(group, replicas), 1)
    }
    return {**_SINGLETONS, **replicated}


PROCESSES = processes()
# The processes order execution needs; FULL adds the validation flow, for checkouts over HTTP.
EXECUTION = frozenset({"books_database", "payment_service", "order_queue", "order_executor", "orchestrator"})
FULL = EXECUTION | {"transaction_verification", "fraud_detection", "suggestions"}
# Tests reuse one card for many orders: lift the fraud velocity limit (a card-testing rule) for them.
FLEET_ENV = {"FRAUD_CARD_USES_MAX": "100000", "PAYMENT_TERMINATION_AFTER_S": "1.0", "SHUTDOWN_GRACE_S": "1"}


# Server ports come from below Linux's ephemeral range (32768-60999): a port the kernel hands out would be free
# now, yet any client socket on the machine could take it before the service binds it.
# A service also binds ports derived from its own: metrics (+1000 when METRICS_PORT=0) and the plaintext health-only
# port (+2000 unless HEALTH_PORT is set). A port handed out here comes with those derived ports free and not handed
# out to anyone else, so two processes of one fleet cannot meet on a derived port (seen in CI: a failed bind).
DERIVED_OFFSETS = (0, 1000, 2000)
SERVER_PORTS = range(20000, 32768 - DERIVED_OFFSETS[-1])
PORT_ATTEMPTS_MAX = 200
RESERVED_MAX = 3000  # ports remembered as handed out (with their derived ones); older fleets are long gone by then
_ports = random.SystemRandom()
_reserved: deque[int] = deque(maxlen=RESERVED_MAX)
_reserved_lock = threading.Lock()


def _bindable(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = LOOPBACK) -> int:
    """A port outside the ephemeral range that nothing holds right now, with its derived ports free too, never
    handed out twice (nor onto another's derived port) while it is remembered."""
    with _reserved_lock:
        for _ in range(PORT_ATTEMPTS_MAX):
            port = _ports.choice(SERVER_PORTS)
            wanted = [port + offset for offset in DERIVED_OFFSETS]
            if any(p in _reserved for p in wanted) or not all(_bindable(host, p) for p in wanted):
                continue
            _reserved.extend(wanted)
            return port
    raise RuntimeError(f"no free port in {SERVER_PORTS.start}..{SERVER_PORTS.stop - 1} after {PORT_ATTEMPTS_MAX} tries")


def on_loopback(_process: str) -> str:
    return LOOPBACK


@dataclass(frozen=True, slots=True)
class FleetEnv:
    env: dict[str, str]  # fleet-wide environment: every address
    metrics_ports: dict[str, str]  # process name → METRICS_PORT, free on its host
    # process name → HEALTH_PORT, free on its host: the default (gRPC port + 2000) could land in the ephemeral range
    health_ports: dict[str, str]


def fleet_env(
    host: Callable[[str], str] = on_loopback,
    extra: Mapping[str, str] | None = None,
    replicas: int = REPLICAS_DEFAULT,
) -> FleetEnv:
    """Free ports for every process on `host(process name)`, `replicas` per Raft group; `extra` is laid over."""

    def addr(name: str) -> str:
        return f"{host(name)}:{free_port(host(name))}"

    orchestrator, frontend = host("orchestrator"), host("frontend")
    orchestrator_port, frontend_port = free_port(orchestrator), free_port(frontend)
    env = {
        "ORCHESTRATOR_HOST": orchestrator,
        "ORCHESTRATOR_PORT": str(orchestrator_port),
        "ORCHESTRATOR_URL": f"http://{orchestrator}:{orchestrator_port}",
        "FRONTEND_HOST": frontend,
        "FRONTEND_PORT": str(frontend_port),
        "FRONTEND_ORIGIN": f"http://{frontend}:{frontend_port}",
        "ORCHESTRATOR_FLOW_ADDR": addr("orchestrator"),
        "TRANSACTION_VERIFICATION_ADDR": addr("transaction_verification"),
        "FRAUD_DETECTION_ADDR": addr("fraud_detection"),
        "SUGGESTIONS_ADDR": addr("suggestions"),
        "ORDER_QUEUE_ADDR": addr("order_queue"),
        "PAYMENT_SERVICE_ADDR": addr("payment_service"),
        "ORDER_EXECUTOR_PEERS": ",".join(f"{name}={addr(name)}" for name in replica_ids("executor", replicas)),
        "BOOKS_DATABASE_PEERS": ",".join(f"{name}={addr(name)}" for name in replica_ids("books", replicas)),
        # Metrics ports derive from gRPC ports (+1000) unless set: each process gets its own, free one.
        "METRICS_PORT": "0",
        "LISTEN_HOST": "",
        "OPENAI_API_KEY": "",
        **(extra or {}),
    }
    names = processes(replicas)
    return FleetEnv(
        env,
        {name: str(free_port(host(name))) for name in names},
        {name: str(free_port(host(name))) for name in names},
    )


def settings_from(env: Mapping[str, str]) -> FleetSettings:
    """FleetSettings as the fleet's processes will read them (keys are the variables, any case)."""
    values: dict[str, Any] = {k.lower(): v for k, v in env.items() if k.lower() in FleetSettings.model_fields}
    return FleetSettings.model_validate(values)
