"""One leadership term's ENDs on their way to the log: handed over by finished transactions, carried by the next
BEGIN or DECISION proposed, or proposed as one `ends` entry when the oldest has waited its bound or a batch is full.

A flusher thread (utils/batching/flusher.py) runs only while ENDs are held (none on an idle leader); when the term
ends they are dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from order_executor.core.end_batch import EndBatch, EndBatchLimits
from utils.batching.flusher import DueFlusher
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
        self._limits = limits
        self._clock = clock
        self._flusher: DueFlusher[str] = DueFlusher(
            EndBatch(limits),
            self._propose_alone,
            name=name,
            stopped=stopped,
            on_stopped=_dropped_with_the_term,
            clock=clock,
        )

    def add(self, tx_id: str) -> None:
        """A transaction every participant acknowledged: its END goes to the log with a later entry."""
        with self._flusher.holding() as batch:
            if self._stopped.is_set():
                _ends_dropped.add(1, {"why": "leadership lost"})
                return
            if not batch.add(tx_id, self._clock()) and len(batch) >= self._limits.pending_max:
                _ends_dropped.add(1, {"why": "batch full"})

    def ride(self) -> tuple[str, ...]:
        """ENDs for a BEGIN or DECISION about to be proposed to carry: the oldest, at most one entry's worth."""
        with self._flusher.holding() as batch:
            if self._stopped.is_set():
                return ()
            taken = batch.take_any()
        if taken:
            _ends_logged.add(len(taken), {"how": "riding"})
        return taken

    def pending(self) -> int:
        return self._flusher.pending()

    def idle(self) -> bool:
        """No flusher thread: nothing is held, or the term is over."""
        return self._flusher.idle()

    def _propose_alone(self, taken: tuple[str, ...]) -> None:
        """On the flusher's thread: a due batch as one `ends` entry."""
        try:
            self._propose_ends(taken)
            _ends_logged.add(len(taken), {"how": "alone"})
        except Exception as error:  # LostLeadership, or a refusal: these ENDs are left to recovery
            _ends_dropped.add(len(taken), {"why": type(error).__name__})
            log.info(
                "ENDs not logged: recovery resends their decisions", extra={"count": len(taken), "why": str(error)}
            )


def _dropped_with_the_term(count: int) -> None:
    _ends_dropped.add(count, {"why": "leadership lost"})
