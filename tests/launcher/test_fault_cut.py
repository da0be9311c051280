"""The launcher's cut-off (docs/watching.md): a replica moved into its own cgroup at start has every packet it
sends dropped for N seconds — a client's connection to it gets no answer — and is reachable again after, by
itself. Needs root, iptables with the cgroup match and cgroup v2: skipped with the reason elsewhere."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import cast

import pytest

from testing.local_fleet import free_port
from tests.services.orchestrator.fault_fakes import SleepFleet
from utils.fleet.faults import FleetFaults, cut_unavailable_reason
from utils.fleet.launcher import Fleet

pytestmark = pytest.mark.timeout(60)
REASON = cut_unavailable_reason()
# Binds only after a pause, so the launcher has moved it into its cgroup before its socket exists.
SERVER = (
    "import socket, time\n"
    "time.sleep(0.5)\n"
    "s = socket.create_server(('127.0.0.1', {port}))\n"
    "while True:\n"
    "    c, _ = s.accept()\n"
    "    c.sendall(c.recv(16))\n"
    "    c.close()\n"
)


class ServerFleet(SleepFleet):
    def __init__(self, port: int) -> None:  # nothing started: the fixture starts each, then adopts it
        self.port = port
        self.processes = {}

    def start(self, name: str) -> None:
        code = SERVER.format(port=self.port) if name == "books-1" else "import time; time.sleep(60)"
        self.processes[name] = subprocess.Popen([sys.executable, "-c", code])


def _answers(port: int) -> bool:
    """An echo comes back. (A handshake alone may complete: the kernel sends a SYN-ACK on no process's behalf.)"""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as connection:
            connection.sendall(b"ping")
            return connection.recv(16) == b"ping"
    except OSError:
        return False


def _wait(condition: bool, port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while _answers(port) is not condition:
        assert time.monotonic() < deadline, f"the server never became {'reachable' if condition else 'cut off'}"
        time.sleep(0.1)


@pytest.fixture
def cut_fleet() -> Iterator[tuple[FleetFaults, int]]:
    if REASON is not None:
        pytest.skip(REASON)
    port = free_port()
    fleet = ServerFleet(port)
    faults = FleetFaults(cast(Fleet, fleet), ["books-1", "books-2", "books-3"])
    for name in ("books-1", "books-2", "books-3"):
        fleet.start(name)
        faults.adopt(name)
    try:
        yield faults, port
    finally:
        faults.close()
        fleet.stop_all()
        faults.remove_cgroups()


def test_a_cut_off_replica_answers_nobody_until_its_seconds_are_over(cut_fleet: tuple[FleetFaults, int]) -> None:
    faults, port = cut_fleet
    _wait(True, port, 10)
    state = faults.apply("books-1", "cut", 2)
    assert state["replicas"]["books-1"]["state"] == "cut"
    assert not _answers(port)  # nothing it sends leaves
    _wait(True, port, 10)  # the rule is removed by itself
    assert faults.state()["replicas"]["books-1"]["state"] == "running"
    rules = subprocess.run(["iptables", "-w", "-S", "OUTPUT"], capture_output=True, text=True, check=True).stdout
    assert "fleet-faults" not in rules
