"""Wakes leasers that wait server-side for an order: a generation count bumped whenever an order becomes leasable.

Bounded: at most waiters_max callers wait at once (each holds a gRPC worker thread); others are told FULL at once.
"""

from __future__ import annotations

import threading
from enum import Enum


class Wake(Enum):
    ARRIVED = "arrived"  # an order became leasable since the caller looked
    TIMEOUT = "timeout"  # nothing within the wait
    FULL = "full"  # waiters_max callers wait already: answer now


class Arrivals:
    def __init__(self, waiters_max: int) -> None:
        if waiters_max < 0:
            raise ValueError("waiters_max must be >= 0")
        self._waiters_max = waiters_max
        self._cond = threading.Condition()
        self._generation = 0
        self._waiting = 0

    def generation(self) -> int:
        """Read BEFORE looking at the queue: an arrival after this read wakes a wait_after(this) at once."""
        with self._cond:
            return self._generation

    def announce(self) -> None:
        """An order was enqueued or given back: every waiter looks again."""
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def waiting(self) -> int:
        with self._cond:
            return self._waiting

    def wait_after(self, generation: int, timeout_s: float) -> Wake:
        with self._cond:
            if self._generation != generation:
                return Wake.ARRIVED
            if timeout_s <= 0:
                return Wake.TIMEOUT
            if self._waiting >= self._waiters_max:
                return Wake.FULL
            self._waiting += 1
            try:
                arrived = self._cond.wait_for(lambda: self._generation != generation, timeout_s)
            finally:
                self._waiting -= 1
            return Wake.ARRIVED if arrived else Wake.TIMEOUT
