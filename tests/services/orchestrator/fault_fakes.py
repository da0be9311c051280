"""A launcher's fault control over stand-in processes (`sleep`), for the gateway's /faults routes in tests: the
real FaultServer and FleetFaults, a fleet whose processes are cheap to kill, pause and restart."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from flask import Flask

from orchestrator.views.faults import FaultLink, install
from utils.fleet.fault_server import FaultServer
from utils.fleet.faults import FleetFaults
from utils.fleet.launcher import Fleet

REPLICAS = ("books-1", "books-2", "books-3")
PROCESS_LIFETIME_S = "120"  # a stand-in outlives any test, and is stopped by it


class SleepFleet:
    """What FleetFaults uses of a Fleet, with `sleep` processes in place of the services."""

    def __init__(self) -> None:
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        for name in REPLICAS:
            self.start(name)

    def start(self, name: str) -> None:
        self.processes[name] = subprocess.Popen(["sleep", PROCESS_LIFETIME_S])

    def kill(self, name: str) -> None:
        self.processes[name].kill()
        self.processes[name].wait(timeout=10)

    def signal(self, name: str, sig: signal.Signals) -> None:
        self.processes[name].send_signal(sig)

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.send_signal(signal.SIGCONT)
            process.kill()
            process.wait(timeout=10)


@contextmanager
def fault_control(app: Flask | None = None) -> Iterator[tuple[FaultServer, SleepFleet]]:
    fleet = SleepFleet()
    server = FaultServer(FleetFaults(cast(Fleet, fleet), list(REPLICAS)))
    server.start()
    if app is not None:
        install(app, FaultLink(server.url, server.token))
    try:
        yield server, fleet
    finally:
        server.close()
        fleet.stop_all()


def state_of(answer: Any, name: str) -> str:
    return str(answer.get_json()["replicas"][name]["state"])
