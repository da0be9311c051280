"""The chaos tool's own local fleet: every process on its own loopback address (127.0.R.x, R chosen per run)
and free ports, with its own data and log folders, so a run never disturbs a fleet started by `make run`
and each node can be cut off by address.
"""
from __future__ import annotations

import random
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from utils.fleet.launcher import Fleet
from utils.fleet.spec import fleet_processes
from utils.settings import FleetSettings

# The last octet of each process's loopback address (the third octet is the run's own).
HOSTS = {"orchestrator": 2, "frontend": 3, "transaction_verification": 4, "fraud_detection": 5, "suggestions": 6,
         "order_queue": 7, "payment_service": 8, "books-1": 11, "books-2": 12, "books-3": 13,
         "executor-1": 21, "executor-2": 22, "executor-3": 23}
# The chaos load uses a fresh card per order, but the declined test card repeats: lift its velocity limit.
QUIET_FRAUD_ENV = {"FRAUD_CARD_USES_MAX": "1000000"}


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True)
class Layout:
    env: dict[str, str]                 # fleet-wide environment: every address
    metrics_ports: dict[str, str]       # process name → METRICS_PORT
    host_octet: int

    def host(self, name: str) -> str:
        return f"127.0.{self.host_octet}.{HOSTS[name]}"


def plan_layout(rng: random.Random, extra_env: dict[str, str] | None = None) -> Layout:
    """Addresses for one run: 127.0.R.x with R random (a second run at the same time gets other addresses)."""
    octet = rng.randint(100, 250)

    def host(name: str) -> str:
        return f"127.0.{octet}.{HOSTS[name]}"

    def addr(name: str) -> str:
        return f"{host(name)}:{free_port(host(name))}"

    orchestrator_port, frontend_port = free_port(host("orchestrator")), free_port(host("frontend"))
    env = {
        "ORCHESTRATOR_HOST": host("orchestrator"),
        "ORCHESTRATOR_PORT": str(orchestrator_port),
        "ORCHESTRATOR_URL": f"http://{host('orchestrator')}:{orchestrator_port}",
        "FRONTEND_HOST": host("frontend"),
        "FRONTEND_PORT": str(frontend_port),
        "FRONTEND_ORIGIN": f"http://{host('frontend')}:{frontend_port}",
        "ORCHESTRATOR_FLOW_ADDR": f"{host('orchestrator')}:{free_port(host('orchestrator'))}",
        "TRANSACTION_VERIFICATION_ADDR": addr("transaction_verification"),
        "FRAUD_DETECTION_ADDR": addr("fraud_detection"),
        "SUGGESTIONS_ADDR": addr("suggestions"),
        "ORDER_QUEUE_ADDR": addr("order_queue"),
        "PAYMENT_SERVICE_ADDR": addr("payment_service"),
        "ORDER_EXECUTOR_PEERS": ",".join(f"executor-{i}={addr(f'executor-{i}')}" for i in (1, 2, 3)),
        "BOOKS_DATABASE_PEERS": ",".join(f"books-{i}={addr(f'books-{i}')}" for i in (1, 2, 3)),
        "LISTEN_HOST": "",
        "OPENAI_API_KEY": "",
        **QUIET_FRAUD_ENV,
        **(extra_env or {}),
    }
    metrics = {name: str(free_port(host(name))) for name in HOSTS}
    return Layout(env, metrics, octet)


def settings_from(env: dict[str, str]) -> FleetSettings:
    """FleetSettings as the fleet's processes will read them (keys are the variables, any case)."""
    values: dict[str, Any] = {k.lower(): v for k, v in env.items() if k.lower() in FleetSettings.model_fields}
    return FleetSettings(**values)


def build_fleet(layout: Layout, workdir: Path) -> Fleet:
    """The Fleet object for the layout (not started): processes whose package exists, each with its metrics port."""
    specs = fleet_processes(settings_from(layout.env))
    for spec in specs:
        spec.env["METRICS_PORT"] = layout.metrics_ports.get(spec.name, "0")
    return Fleet(specs, data_dir=workdir / "data", log_dir=workdir / "logs", env=layout.env)
