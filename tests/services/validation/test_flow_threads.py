"""The gateway's flow client starts no thread per checkout: its fan-outs and clears run on threads it keeps.

A gRPC future on a channel with no call in flight starts a polling thread; per checkout, that was most of its cost.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

import pytest

from tests.services.validation.conftest import SEED_ORDER, ValidationFleet, order_of, wait_until


class _Clears(logging.Handler):
    """Counts the services' "order clear" lines: each is one order of a ClearOrders call answered."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "order clear":
            self.count += 1


@pytest.fixture
def clears() -> Iterator[_Clears]:
    handler, root = _Clears(), logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_checkouts_and_their_clears_start_no_grpc_polling_thread(
    start_fleet: Callable[..., ValidationFleet], monkeypatch: pytest.MonkeyPatch, clears: _Clears
) -> None:
    fleet = start_fleet()
    warm = fleet.flow.validate(order_of("warm-up", SEED_ORDER))  # channels connect, pools make their threads
    fleet.flow.broadcast_clear("warm-up", warm.final_clock)
    wait_until(lambda: clears.count == 3, what="the warm-up's three clears")
    started: list[str] = []
    original = threading.Thread.start

    def counting_start(thread: threading.Thread) -> None:
        started.append(thread.name)
        original(thread)

    monkeypatch.setattr(threading.Thread, "start", counting_start)
    for n in range(5):
        outcome = fleet.flow.validate(order_of(f"order-{n}", SEED_ORDER))
        assert outcome.approved
        fleet.flow.broadcast_clear(f"order-{n}", outcome.final_clock)
    wait_until(lambda: clears.count == 3 + 5 * 3, what="every order cleared on every service")
    # Only the named pools may grow (to the concurrency they saw); grpc's polling threads are unnamed "Thread-N".
    assert [name for name in started if name.startswith("Thread-")] == [], started
