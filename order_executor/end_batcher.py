"""One leadership term's ENDs on their way to the log: handed over by finished transactions, carried by the next
BEGIN or DECISION proposed, or proposed as one `ends` entry when the oldest has waited its bound or a batch is full.

A flusher thread runs only while ENDs are held (none on an idle leader); when the term ends they are dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from order_executor.core.end_batch import EndBatch, EndBatchLimits
from utils.telemetry import meter

log = logging.getLogger(__name__)
_meter = meter("order_executor")
_ends_logged = _meter.create_counter(
    "executor_ends_logged", description="ENDs proposed to the log, by how: riding on another entry, or batched alone"
)
_ends_dropped = _meter.create_counter(
    "executor_ends_dropped", description="ENDs never logged (leadership lost, batch full): a resend at recovery"
)

ProposeEnds = Callable[[tuple[str, ...]], None]  # proposes one `ends` entry; raises when it cannot


class EndBatcher:
    def __init__(
        self,
        stopped: threading.Event,
        propose_ends: ProposeEnds,
        limits: EndBatchLimits = EndBatchLimits(),
        clock: Callable[[], float] = time.monotonic,
        name: str = "ends",
    ) -> None:
        self._stopped = stopped  # the session's: set when this replica stops leading in the term
        self._propose_ends = propose_ends
        self._clock = clock
        self._name = name
        self._batch = EndBatch(limits)
        self._cond = threading.Condition()
        self._flusher_running = False

    def add(self, tx_id: str) -> None:
        """A transaction every participant acknowledged: its END goes to the log with a later entry."""
        with self._cond:
            if self._stopped.is_set():
                _ends_dropped.add(1, {"why": "leadership lost"})
                return
            if not self._batch.add(tx_id, self._clock()) and len(self._batch) >= self._batch.limits.pending_max:
                _ends_dropped.add(1, {"why": "batch full"})
                return
            if not self._flusher_running:
                self._flusher_running = True
                threading.Thread(target=self._flush_loop, name=self._name, daemon=True).start()
            else:
                self._cond.notify()

    def ride(self) -> tuple[str, ...]:
        """ENDs for a BEGIN or DECISION about to be proposed to carry: the oldest, at most one entry's worth."""
        with self._cond:
            if self._stopped.is_set():
                return ()
            taken = self._batch.take()
        if taken:
            _ends_logged.add(len(taken), {"how": "riding"})
        return taken

    def pending(self) -> int:
        with self._cond:
            return len(self._batch)

    def idle(self) -> bool:
        """No flusher thread: nothing is held, or the term is over."""
        with self._cond:
            return not self._flusher_running

    def _flush_loop(self) -> None:
        while True:
            with self._cond:
                taken = self._next_due()
                if taken is None:
                    self._flusher_running = False
                    return
            try:
                self._propose_ends(taken)
                _ends_logged.add(len(taken), {"how": "alone"})
            except Exception as error:  # LostLeadership, or a refusal: these ENDs are left to recovery
                _ends_dropped.add(len(taken), {"why": type(error).__name__})
                log.info(
                    "ENDs not logged: recovery resends their decisions", extra={"count": len(taken), "why": str(error)}
                )

    def _next_due(self) -> tuple[str, ...] | None:
        """Under the lock: waits until a batch is due and takes it; None once empty or the term is over."""
        while True:
            if self._stopped.is_set():
                dropped = self._batch.clear()
                if dropped:
                    _ends_dropped.add(dropped, {"why": "leadership lost"})
                return None
            wait_s = self._batch.wait_s(self._clock())
            if wait_s is None:
                return None
            if wait_s <= 0:
                return self._batch.take()
            # Woken early by add() (a batch may be full now); the stopped flag is looked at again each round.
            self._cond.wait(wait_s)
