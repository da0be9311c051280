"""The sender of one due batch: a thread that starts when an item is held, waits on a Condition until the batch is due,
sends it outside the lock, and ends once the batch is empty (or, if its owner keeps it, once stopped)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

from utils.batching.core.due_batch import HeldBatch

T = TypeVar("T")
log = logging.getLogger(__name__)


def _ignore(_dropped: int) -> None:
    """The default on_stopped: what was held when the owner stopped is left to the caller's own recovery."""


class DueFlusher(Generic[T]):
    """Thread-safe: every use of the batch goes through `holding()`, under the flusher's lock.

    `send` is called on the flusher's thread with one batch at a time, never under the lock; it should handle its own
    failures (an exception is logged and the thread goes on). Once `stopped` is set the thread clears the batch,
    tells `on_stopped` how many items it dropped, and ends.
    """

    def __init__(
        self,
        batch: HeldBatch[T],
        send: Callable[[tuple[T, ...]], None],
        *,
        name: str,
        stopped: threading.Event | None = None,
        on_stopped: Callable[[int], None] = _ignore,
        clock: Callable[[], float] = time.monotonic,
        started: bool = True,
        keep_thread: bool = False,
    ) -> None:
        self._batch = batch
        self._send = send
        self._name = name
        self._stopped = threading.Event() if stopped is None else stopped
        self._on_stopped = on_stopped
        self._clock = clock
        self._cond = threading.Condition()
        self._started = started  # False: items are held, and no thread runs until start()
        # True: an empty batch's sender waits for the next item instead of ending (then stop it by stop(), whose
        # notify ends that wait; a `stopped` set by its owner alone is seen at the next item).
        self._keep_thread = keep_thread
        self._running = False

    @contextmanager
    def holding(self) -> Iterator[HeldBatch[T]]:
        """The batch under the lock; afterwards a sender runs if anything is held (woken if a batch is due now)."""
        with self._cond:
            try:
                yield self._batch
            finally:
                self._wake()

    def start(self) -> None:
        with self._cond:
            self._started = True
            self._wake()

    def stop(self) -> None:
        """Sets `stopped` and wakes the sender, which drops what is held (nothing more is sent)."""
        with self._cond:
            self._stopped.set()
            self._cond.notify()

    def pending(self) -> int:
        with self._cond:
            return len(self._batch)

    def idle(self) -> bool:
        """No sender thread: nothing is held (and the thread is not kept), or it stopped, or it never started."""
        with self._cond:
            return not self._running

    def _wake(self) -> None:
        """Under the lock."""
        if not self._started or not len(self._batch):
            return
        if not self._running:
            self._running = True
            threading.Thread(target=self._run, name=self._name, daemon=True).start()
        elif len(self._batch) == 1 or self._batch.due_in_s(self._clock()) == 0.0:
            # The due time moves earlier only with a first item or a full batch; the sender sleeps until then otherwise.
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                batch = self._next_due()
                if batch is None:
                    self._running = False
                    return
            try:
                self._send(batch)
            except Exception:  # a bug must not end the sender silently: every later batch would wait forever
                log.exception("batch send crashed", extra={"flusher": self._name, "items": len(batch)})

    def _next_due(self) -> tuple[T, ...] | None:
        """Under the lock: waits until a batch is due and takes it; None once empty or stopped."""
        while True:
            if self._stopped.is_set():
                dropped = self._batch.clear()
                if dropped:
                    self._on_stopped(dropped)
                return None
            due_s = self._batch.due_in_s(self._clock())
            if due_s is None and not self._keep_thread:
                return None
            if due_s is not None and due_s <= 0.0:
                return self._batch.take_any()
            # Woken early by a first item, a full batch or stop(); a `stopped` set by its owner alone is seen at the
            # latest when the wait ends (None: a kept thread waits for the next item).
            self._cond.wait(due_s)
