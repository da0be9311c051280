"""The chaos tool's own local fleet: every process on its own loopback address (127.0.R.x, R chosen per run)
and free ports, with its own data and log folders, so a run never disturbs a fleet started by `make run`
and each node can be cut off by address.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from testing.fleet_env import PROCESSES, fleet_env, settings_from
from utils.fleet.launcher import Fleet
from utils.fleet.spec import fleet_processes
from utils.rpc.trust import Trust, install_trust, roster_from
from utils.tls import FleetTls
from utils.tls.fleet import OPERATOR, ensure_fleet_pki

# The chaos load uses a fresh card per order, but the declined test card repeats: lift its velocity limit.
QUIET_FRAUD_ENV = {"FRAUD_CARD_USES_MAX": "1000000"}


@dataclass(frozen=True, slots=True)
class Layout:
    env: dict[str, str]  # fleet-wide environment: every address
    metrics_ports: dict[str, str]  # process name → METRICS_PORT
    health_ports: dict[str, str]  # process name → HEALTH_PORT
    host_octet: int

    def host(self, name: str) -> str:
        return f"127.0.{self.host_octet}.{PROCESSES[name]}"


def plan_layout(rng: random.Random, extra_env: dict[str, str] | None = None) -> Layout:
    """Addresses for one run: 127.0.R.x with R random (a second run at the same time gets other addresses)."""
    octet = rng.randint(100, 250)
    planned = fleet_env(lambda name: f"127.0.{octet}.{PROCESSES[name]}", {**QUIET_FRAUD_ENV, **(extra_env or {})})
    return Layout(planned.env, planned.metrics_ports, planned.health_ports, octet)


def build_fleet(layout: Layout, workdir: Path) -> Fleet:
    """The Fleet object for the layout (not started): processes whose package exists, each with its metrics port."""
    settings = settings_from(layout.env)
    specs = fleet_processes(settings)
    for spec in specs:
        spec.env["METRICS_PORT"] = layout.metrics_ports.get(spec.name, "0")
        spec.env["HEALTH_PORT"] = layout.health_ports.get(spec.name, "0")
    fleet = Fleet(specs, data_dir=workdir / "data", log_dir=workdir / "logs", env=layout.env)
    # The run's own PKI (docs/trust.md); this tool speaks to its fleet as the operator.
    tls_dir = ensure_fleet_pki(fleet.data_dir, [s.name for s in specs])
    fleet.env["TLS_DIR"] = str(tls_dir)
    install_trust(Trust(FleetTls(tls_dir, OPERATOR), roster_from(settings), health_port=None))
    return fleet
