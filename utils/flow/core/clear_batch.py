"""The orchestrator's clear broadcast in batches (docs/design.md §3.4): final clocks gathered for one service.

Pure: an order's final clock comes in by `add(now_s)`; a batch goes out by `take(now_s)` once it is full or its
oldest order has waited `wait_s`. The backlog is bounded: past it an order's clear is refused (the caller counts
it skipped; the service's ttl ends the order's state), so a service that is down cannot grow the gateway's memory.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from utils.flow.core.vclock import VectorClock

# The most orders one ClearOrders call carries: the servicer refuses more (INVALID_ARGUMENT). 64 orders of ~100
# bytes each stay far inside the 64 KiB message cap.
CLEAR_BATCH_ORDERS_MAX = 64


@dataclass(frozen=True, slots=True)
class PendingClear:
    order_id: str
    final: VectorClock
    added_at_s: float
    correlation_id: str = ""  # the checkout's, so the service's log line for this order carries it


class ClearBatcher:
    """One service's pending clears, oldest first. Not thread-safe: its owner holds a lock around it."""

    def __init__(
        self, *, orders_max: int = CLEAR_BATCH_ORDERS_MAX, wait_s: float = 0.5, backlog_max: int = 1024
    ) -> None:
        if not 1 <= orders_max <= CLEAR_BATCH_ORDERS_MAX:
            raise ValueError(f"orders_max must be 1..{CLEAR_BATCH_ORDERS_MAX}")
        if wait_s < 0 or backlog_max < orders_max:
            raise ValueError("wait_s must not be negative and backlog_max must hold at least one batch")
        self.orders_max = orders_max
        self.wait_s = wait_s
        self.backlog_max = backlog_max
        self._pending: deque[PendingClear] = deque()

    def add(self, order_id: str, final: VectorClock, now_s: float, correlation_id: str = "") -> bool:
        """Queues the order's final clock; False (nothing queued) when the backlog is full."""
        if not order_id:
            raise ValueError("an order id is required")
        if len(self._pending) >= self.backlog_max:
            return False
        self._pending.append(PendingClear(order_id, final, now_s, correlation_id))
        return True

    def due_in_s(self, now_s: float) -> float | None:
        """How long until a batch is due: None when nothing waits, 0 when one is due now."""
        if not self._pending:
            return None
        if len(self._pending) >= self.orders_max:
            return 0.0
        return max(0.0, self._pending[0].added_at_s + self.wait_s - now_s)

    def take(self, now_s: float) -> tuple[PendingClear, ...]:
        """The oldest orders, at most `orders_max`, if a batch is due; else ()."""
        if self.due_in_s(now_s) != 0.0:
            return ()
        return self._take()

    def drain(self) -> tuple[PendingClear, ...]:
        """The oldest orders, at most `orders_max`, whether due or not (stopping: send what waits)."""
        return self._take()

    def _take(self) -> tuple[PendingClear, ...]:
        count = min(self.orders_max, len(self._pending))
        batch = tuple(self._pending.popleft() for _ in range(count))
        assert len(batch) <= self.orders_max, "a batch never exceeds the servicer's cap"
        return batch

    def __len__(self) -> int:
        return len(self._pending)
