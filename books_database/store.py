"""The state machine as the Raft runtime and the servicer share it: one lock around every touch.

The runtime applies on its own thread while gRPC threads read (Status locally, reads after ReadIndex).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from books_database.core.results import Result
from books_database.core.state_machine import BooksStateMachine

T = TypeVar("T")


class BooksStore:
    """Implements utils.raft.StateMachine over a BooksStateMachine, thread-safe."""

    def __init__(self, machine: BooksStateMachine) -> None:
        self._machine = machine
        self._lock = threading.RLock()

    def apply(self, index: int, command: bytes) -> Result:
        with self._lock:
            return self._machine.apply(index, command)

    def snapshot(self) -> bytes:
        with self._lock:
            return self._machine.snapshot()

    def restore(self, data: bytes) -> None:
        with self._lock:
            self._machine.restore(data)

    def query(self, fn: Callable[[BooksStateMachine], T]) -> T:
        """Runs a read on the state under the lock; `fn` must return immutable values, not live state."""
        with self._lock:
            return fn(self._machine)
