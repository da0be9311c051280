"""The ENDs a leader has yet to log, as a bounded batch: when it is due, and what one log entry carries of it.

Pure (the caller passes the clock's reading). An END only lets a new leader skip a finished transaction, so the batch
may wait, ride on another entry, or be dropped with the leadership: a lost END costs one idempotent resend.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from order_executor.core.decision_log import ENDS_PER_ENTRY_MAX


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


@dataclass
class EndBatch:
    """Not thread-safe: the adapter holds its lock around every call."""

    limits: EndBatchLimits = EndBatchLimits()
    _pending: dict[str, float] = field(default_factory=dict)  # tx id → when added; insertion order = age order
    dropped: int = 0  # ENDs refused because the batch was full

    def add(self, tx_id: str, now: float) -> bool:
        """False when the batch is full and this END is dropped (or already held)."""
        if tx_id in self._pending:
            return False
        if len(self._pending) >= self.limits.pending_max:
            self.dropped += 1
            return False
        self._pending[tx_id] = now
        return True

    def take(self) -> tuple[str, ...]:
        """The oldest ENDs, as many as one entry carries; they leave the batch (the caller logs or loses them)."""
        taken = tuple(tx for tx, _ in zip(self._pending, range(self.limits.per_entry_max), strict=False))
        for tx in taken:
            del self._pending[tx]
        return taken

    def wait_s(self, now: float) -> float | None:
        """Seconds until the batch is due on its own (0: now); None when it is empty."""
        if not self._pending:
            return None
        if len(self._pending) >= self.limits.per_entry_max:
            return 0.0
        oldest = next(iter(self._pending.values()))
        return max(0.0, oldest + self.limits.wait_max_s - now)

    def clear(self) -> int:
        """Leadership lost: the ENDs are dropped, never proposed in a later term by a deposed leader."""
        count = len(self._pending)
        self._pending.clear()
        return count

    def __len__(self) -> int:
        return len(self._pending)
