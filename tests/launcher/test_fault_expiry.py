"""The launcher's held faults (docs/watching.md) over stand-in processes: each pause is lifted by the one expiry
thread at its own due time, in due order; a kill or the launcher's close lifts a pause at once; two clicks at the
same moment cannot hold one replica twice; the endpoint names a malformed request."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from typing import cast

import psutil
import pytest

from tests.services.orchestrator.fault_fakes import REPLICAS, SleepFleet
from utils.fleet.fault_server import FaultServer
from utils.fleet.faults import FaultRefused, FleetFaults
from utils.fleet.launcher import Fleet

pytestmark = pytest.mark.timeout(60)
WAIT_S = 20.0


@pytest.fixture
def held() -> Iterator[tuple[FleetFaults, SleepFleet]]:
    fleet = SleepFleet()
    faults = FleetFaults(cast(Fleet, fleet), list(REPLICAS))
    try:
        yield faults, fleet
    finally:
        faults.close()
        fleet.stop_all()


def _stopped(fleet: SleepFleet, name: str) -> bool:
    return bool(psutil.Process(fleet.processes[name].pid).status() == psutil.STATUS_STOPPED)


def _becomes(fleet: SleepFleet, name: str, stopped: bool) -> None:
    """A signal is delivered soon after it is sent, not at once: wait for the process to show it."""
    _wait(lambda: _stopped(fleet, name) is stopped, f"{name} never {'stopped' if stopped else 'resumed'}")


def _state(faults: FleetFaults, name: str) -> str:
    return str(faults.state()["replicas"][name]["state"])


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_pauses_end_by_themselves_each_at_its_own_time(held: tuple[FleetFaults, SleepFleet]) -> None:
    faults, fleet = held
    faults.apply("books-1", "pause", 8)
    faults.apply("books-2", "pause", 1)  # added later, due first: the expiry thread must wake earlier for it
    _becomes(fleet, "books-1", stopped=True)
    _becomes(fleet, "books-2", stopped=True)
    _wait(lambda: _state(faults, "books-2") == "running", "the 1 s pause never ended")
    _becomes(fleet, "books-2", stopped=False)
    assert _state(faults, "books-1") == "paused" and _stopped(fleet, "books-1")  # its 8 s are not over
    _wait(lambda: _state(faults, "books-1") == "running", "the 8 s pause never ended")
    _becomes(fleet, "books-1", stopped=False)


def test_a_kill_or_the_close_lifts_a_pause_at_once(held: tuple[FleetFaults, SleepFleet]) -> None:
    faults, fleet = held
    faults.apply("books-1", "pause", 60)
    faults.apply("books-2", "pause", 60)
    assert _state(faults, "books-1") == "paused"
    faults.apply("books-1", "kill", None)
    assert _state(faults, "books-1") == "killed" and faults.state()["replicas"]["books-1"]["until"] is None
    faults.close()
    assert _state(faults, "books-2") == "running"
    _becomes(fleet, "books-2", stopped=False)


def test_clicks_at_the_same_moment_hold_a_replica_once(held: tuple[FleetFaults, SleepFleet]) -> None:
    faults, _fleet = held

    def pause() -> HTTPStatus:
        try:
            faults.apply("books-3", "pause", 30)
        except FaultRefused as refused:
            return refused.status
        return HTTPStatus.OK

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(lambda _: pause(), range(8)))
    assert sorted(outcomes) == [HTTPStatus.OK] + [HTTPStatus.CONFLICT] * 7


def _post(server: FaultServer, path: str, body: bytes, headers: dict[str, str] | None = None) -> int:
    given = {"Authorization": f"Bearer {server.token}", **(headers or {})}
    request = urllib.request.Request(f"{server.url}{path}", data=body, method="POST", headers=given)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        refused.close()
        return int(refused.code)


def test_the_endpoint_names_a_malformed_request(held: tuple[FleetFaults, SleepFleet]) -> None:
    faults, fleet = held
    server = FaultServer(faults)
    server.start()
    try:
        assert _post(server, "/faults/books-1/pause", b"{not json") == 400
        assert _post(server, "/faults/books-1/pause", b'{"seconds": true}') == 400
        assert _post(server, "/faults/books-1/pause", b"x" * 2000) == 413
        assert _post(server, "/faults/books-1", b"{}") == 404
        assert _post(server, "/faults/books-1/pause", b'{"seconds": 30}', {"Authorization": "Bearer no"}) == 401
        assert _state(faults, "books-1") == "running" and not _stopped(fleet, "books-1")  # none touched it
        assert _post(server, "/faults/books-1/pause", b'{"seconds": 30}') == 200
        _becomes(fleet, "books-1", stopped=True)
    finally:
        server.close()
