"""Starts a private copy of the local fleet for a test: free loopback ports, its own data and logs.

`with running_fleet(tmp_path, only={...}) as fleet:` gives the Fleet plus the settings it runs with.
"""
from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from utils.fleet.launcher import Fleet
from utils.fleet.spec import fleet_processes
from utils.settings import FleetSettings


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def free_port_env() -> dict[str, str]:
    """Environment variables that move every service of the fleet to free ports on 127.0.0.1."""
    def addr() -> str:
        return f"127.0.0.1:{free_port()}"

    orchestrator_port, frontend_port = free_port(), free_port()
    env = {
        "ORCHESTRATOR_PORT": str(orchestrator_port),
        "ORCHESTRATOR_URL": f"http://127.0.0.1:{orchestrator_port}",
        "FRONTEND_PORT": str(frontend_port),
        "FRONTEND_ORIGIN": f"http://127.0.0.1:{frontend_port}",
        "ORCHESTRATOR_FLOW_ADDR": addr(),
        "TRANSACTION_VERIFICATION_ADDR": addr(),
        "FRAUD_DETECTION_ADDR": addr(),
        "SUGGESTIONS_ADDR": addr(),
        "ORDER_QUEUE_ADDR": addr(),
        "PAYMENT_SERVICE_ADDR": addr(),
        "ORDER_EXECUTOR_PEERS": ",".join(f"executor-{i}={addr()}" for i in (1, 2, 3)),
        "BOOKS_DATABASE_PEERS": ",".join(f"books-{i}={addr()}" for i in (1, 2, 3)),
        "METRICS_PORT": "0",
        "LISTEN_HOST": "",
        "OPENAI_API_KEY": "",
    }
    return env


def settings_from(env: dict[str, str]) -> FleetSettings:
    """FleetSettings as the fleet's processes will read them (env keys are case-insensitive)."""
    return FleetSettings.model_validate({k.lower(): v for k, v in env.items() if k.lower() in FleetSettings.model_fields})


@dataclass
class RunningFleet:
    fleet: Fleet
    settings: FleetSettings
    env: dict[str, str]

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.settings.orchestrator_port}"


@contextmanager
def running_fleet(workdir: Path, only: set[str] | None = None, extra_env: dict[str, str] | None = None,
                  healthy_timeout_s: float = 60.0) -> Iterator[RunningFleet]:
    """Starts the fleet (or the processes named in `only`, by process name or module) and stops it after."""
    env = {**free_port_env(), **(extra_env or {})}
    settings = settings_from(env)
    specs = [s for s in fleet_processes(settings) if only is None or s.name in only or s.module in only]
    # Metrics ports derive from gRPC ports (+1000); make each one explicit and free instead.
    fleet = Fleet(specs, data_dir=workdir / "data", log_dir=workdir / "logs", env=env)
    for spec in specs:
        spec.env.setdefault("METRICS_PORT", str(free_port()))
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # so clients built in the test read the same settings
    try:
        fleet.start_all()
        fleet.wait_healthy(timeout_s=healthy_timeout_s)
        yield RunningFleet(fleet, settings, env)
    finally:
        fleet.stop_all()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
