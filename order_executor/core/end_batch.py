"""The ENDs a leader has yet to log, as a bounded batch: when it is due, and what one log entry carries of it.

Pure (the caller passes the clock's reading). An END only lets a new leader skip a finished transaction, so the batch
may wait, ride on another entry, or be dropped with the leadership: a lost END costs one idempotent resend.
"""

from __future__ import annotations

from dataclasses import dataclass

from order_executor.core.decision_log import ENDS_PER_ENTRY_MAX
from utils.batching.core.due_batch import DueBatch, DueBatchLimits


@dataclass(frozen=True, slots=True)
class EndBatchLimits:
    per_entry_max: int = 32  # ENDs one entry carries; a full batch is due at once
    wait_max_s: float = 0.25  # the oldest END waits at most this long for an entry to ride on
    pending_max: int = 256  # held at most; beyond it an END is dropped (recovery resends that one decision)

    def __post_init__(self) -> None:
        if not 1 <= self.per_entry_max <= ENDS_PER_ENTRY_MAX:
            raise ValueError(f"per_entry_max must be 1..{ENDS_PER_ENTRY_MAX}")
        if self.wait_max_s < 0 or self.pending_max < self.per_entry_max:
            raise ValueError("wait_max_s must be >= 0 and pending_max >= per_entry_max")

    def due_batch(self) -> DueBatchLimits:
        return DueBatchLimits(
            items_per_batch_max=self.per_entry_max, wait_max_s=self.wait_max_s, backlog_max=self.pending_max
        )


class EndBatch:
    """A DueBatch of tx ids that holds each at most once and counts the ENDs it refused for being full.

    Not thread-safe: the adapter holds its lock around every call."""

    def __init__(self, limits: EndBatchLimits = EndBatchLimits()) -> None:
        self.limits = limits
        self._batch: DueBatch[str] = DueBatch(limits.due_batch())
        self._held: set[str] = set()  # the batch's tx ids: a transaction finished twice (a resend) logs one END
        self.dropped = 0  # ENDs refused because the batch was full

    def add(self, tx_id: str, now: float) -> bool:
        """False when the batch is full and this END is dropped (or already held)."""
        if tx_id in self._held:
            return False
        if not self._batch.add(tx_id, now):
            self.dropped += 1
            return False
        self._held.add(tx_id)
        return True

    def due_in_s(self, now: float) -> float | None:
        """Seconds until the batch is due on its own (0: now); None when it is empty."""
        return self._batch.due_in_s(now)

    def take_any(self) -> tuple[str, ...]:
        """The oldest ENDs, as many as one entry carries; they leave the batch (the caller logs or loses them)."""
        taken = self._batch.take_any()
        self._held.difference_update(taken)
        return taken

    def clear(self) -> int:
        """Leadership lost: the ENDs are dropped, never proposed in a later term by a deposed leader."""
        self._held.clear()
        return self._batch.clear()

    def __len__(self) -> int:
        assert len(self._held) == len(self._batch), "each held END is in the batch once"
        return len(self._batch)
