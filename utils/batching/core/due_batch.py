"""A bounded batch of items, each with the time it was added: due once full or once the oldest has waited its bound.
Pure (the clock's reading is an argument); used by the ClearOrders batches and a leader's ENDs, rules kept by each."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DueBatchLimits:
    items_per_batch_max: int  # one batch carries at most this many; a full batch is due at once
    wait_max_s: float  # the oldest item waits at most this long before its batch is due
    backlog_max: int  # held at most; past it an add is refused, so a stalled sender cannot grow memory

    def __post_init__(self) -> None:
        if self.items_per_batch_max < 1:
            raise ValueError("items_per_batch_max must be >= 1")
        if self.wait_max_s < 0:
            raise ValueError("wait_max_s must be >= 0")
        if self.backlog_max < self.items_per_batch_max:
            raise ValueError("backlog_max must hold at least one batch (>= items_per_batch_max)")


class HeldBatch(Protocol[T]):
    """What a flusher needs of a batch (DueBatch, or a caller's thin batch over one)."""

    def add(self, item: T, now: float) -> bool: ...

    def due_in_s(self, now: float) -> float | None: ...

    def take_any(self) -> tuple[T, ...]: ...

    def clear(self) -> int: ...

    def __len__(self) -> int: ...


class DueBatch(Generic[T]):
    """Items oldest first. Not thread-safe: its owner holds a lock around every call."""

    def __init__(self, limits: DueBatchLimits) -> None:
        self.limits = limits
        self._pending: deque[tuple[float, T]] = deque()  # (when added, item); appended in time order

    def add(self, item: T, now: float) -> bool:
        """Holds the item; False (nothing held) when the backlog is full."""
        if len(self._pending) >= self.limits.backlog_max:
            return False
        self._pending.append((now, item))
        return True

    def due_in_s(self, now: float) -> float | None:
        """Seconds until a batch is due: None when nothing is held, 0 when one is due now."""
        if not self._pending:
            return None
        if len(self._pending) >= self.limits.items_per_batch_max:
            return 0.0
        oldest_s = self._pending[0][0]
        return max(0.0, oldest_s + self.limits.wait_max_s - now)

    def take(self, now: float) -> tuple[T, ...]:
        """The oldest items, at most one batch, if a batch is due; else ()."""
        if self.due_in_s(now) != 0.0:
            return ()
        return self.take_any()

    def take_any(self) -> tuple[T, ...]:
        """The oldest items, at most one batch, due or not (an entry about to go can carry them; stopping)."""
        count = min(self.limits.items_per_batch_max, len(self._pending))
        batch = tuple(self._pending.popleft()[1] for _ in range(count))
        assert len(batch) <= self.limits.items_per_batch_max, "a batch never exceeds its cap"
        return batch

    def clear(self) -> int:
        """Drops every item (their sender is gone); how many were held."""
        count = len(self._pending)
        self._pending.clear()
        return count

    def __len__(self) -> int:
        return len(self._pending)
