"""The fleets a chaos run can hurt, behind one handle: where the API is, where each replica answers (as seen
from this machine), which processes make up each service, and the injector that breaks them.

- local: the tool's own private fleet (chaos/local_fleet.py), started and stopped by the run;
- docker: the compose fleet (`make up`), hurt with docker kill/pause/network disconnect;
- attach: any running fleet, load and checks only (no faults: its processes are not ours).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from chaos.faults import Injector
from chaos.faults.isolation import LoopbackIsolation, unavailable_reason
from chaos.faults.local import LocalFaults
from chaos.http import NoAnswer, request_json
from chaos.local_fleet import build_fleet, plan_layout
from testing.fleet_env import settings_from
from utils.fleet.launcher import Fleet
from utils.settings import FleetSettings

log = logging.getLogger("chaos.fleets")
FLEET_HEALTHY_TIMEOUT_S = 120.0
LOCAL_SKIPPED = {"frontend"}  # the storefront page plays no part in a chaos run


@dataclass
class FleetHandle:
    kind: str
    api: str
    executor_peers: dict[str, str]  # replica id → host:port reachable from here
    database_peers: dict[str, str]
    payment_addr: str
    services: dict[str, list[str]]  # service → process names (what the injector is given)
    injector: Injector | None
    closers: list[Callable[[], None]] = field(default_factory=list)

    def groups(self) -> dict[str, dict[str, str]]:
        return {"order_executor": self.executor_peers, "books_database": self.database_peers}

    def nodes(self, service: str) -> list[str]:
        return list(self.services.get(service, []))

    def close(self) -> None:
        for closer in reversed(self.closers):
            try:
                closer()
            except Exception:  # closing must go on: the next closer may free what matters more
                log.exception("closing the fleet handle failed")


def services_of(fleet: Fleet) -> dict[str, list[str]]:
    services: dict[str, list[str]] = {}
    for spec in fleet.specs:
        services.setdefault(spec.module, []).append(spec.name)
    return services


def start_local(
    workdir: Path, seed: int, extra_env: dict[str, str] | None = None, slow_by: str = "throttle"
) -> FleetHandle:
    """Starts a private fleet under `workdir` (data/ and logs/), every process on its own loopback address."""
    layout = plan_layout(random.Random(f"{seed}:{time.time_ns()}"), extra_env)
    fleet = build_fleet(layout, workdir)
    fleet.specs = [s for s in fleet.specs if s.name not in LOCAL_SKIPPED]
    problem = unavailable_reason()
    isolation = LoopbackIsolation(f"{layout.host_octet}x{seed}") if problem is None else None
    faults = LocalFaults(fleet, isolation, problem, slow_by)
    settings = settings_from(layout.env)
    handle = FleetHandle(
        "local",
        layout.env["ORCHESTRATOR_URL"],
        settings.executor_peers(),
        settings.database_peers(),
        settings.payment_service_addr,
        services_of(fleet),
        faults,
    )
    if isolation is not None:
        handle.closers.append(isolation.close)  # runs last: rules off, then the emptied cgroups removed
    handle.closers.append(fleet.stop_all)
    try:
        for spec in fleet.specs:
            faults.start(spec.name)
        fleet.wait_healthy(timeout_s=FLEET_HEALTHY_TIMEOUT_S)
    except BaseException:
        handle.close()
        raise
    return handle


def attach(api: str, settings: FleetSettings) -> FleetHandle:
    """A running fleet this tool did not start: load and checks only."""
    return FleetHandle(
        "attach",
        api.rstrip("/"),
        settings.executor_peers(),
        settings.database_peers(),
        settings.payment_service_addr,
        {},
        None,
    )


def wait_api(api: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if request_json("GET", f"{api}/healthz", timeout_s=2.0).status == 200:
                return
        except NoAnswer:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"no answer from {api}/healthz within {timeout_s:.0f} s")
        time.sleep(0.5)
