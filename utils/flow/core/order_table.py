"""One service's per-order state: the order it was given, its vector clock for the order, and its phase.

Pure and bounded: at most `orders_max` orders, each dropped `order_ttl_s` after it was initialised; cleared
on the orchestrator's broadcast only when this service's clock is <= the final clock (docs/design.md §3.4).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from typing import Generic, TypeVar

from utils.flow.core.vclock import VectorClock

T = TypeVar("T")


class OrderPhase(Enum):
    RUNNING = "running"  # events may still run
    STOPPED = "stopped"  # an event failed or timed out: the flow stops here
    CONFLICTED = "conflicted"  # the final clock did not cover this service's clock: kept for inspection


class ClearOutcome(Enum):
    CLEARED = "cleared"
    CONFLICT = "conflict"  # own clock not <= final: the state is kept (until its ttl) and the conflict reported
    UNKNOWN_ORDER = "unknown_order"


class OrderTableFull(Exception):
    """No room for another order: the caller answers RESOURCE_EXHAUSTED."""


class OrderConflict(Exception):
    """The same order id was initialised again with different data."""


@dataclass(frozen=True, slots=True)
class OrderRecord(Generic[T]):
    order: T
    clock: VectorClock
    phase: OrderPhase
    expires_at_s: float


class OrderTable(Generic[T]):
    """Orders by id in initialisation order, which is also expiry order (one ttl for all)."""

    def __init__(self, service: str, *, orders_max: int, order_ttl_s: float) -> None:
        if orders_max < 1 or order_ttl_s <= 0:
            raise ValueError("orders_max must be at least 1 and order_ttl_s positive")
        self.service = service
        self.orders_max = orders_max
        self.order_ttl_s = order_ttl_s
        self._records: dict[str, OrderRecord[T]] = {}

    def init(self, order_id: str, order: T, now_s: float) -> VectorClock:
        """Keeps the order; initialising is this service's first event for it, so its clock ticks once.

        Idempotent for a retried init with the same data; returns the current clock.
        """
        if not order_id:
            raise ValueError("an order id is required")
        existing = self._records.get(order_id)
        if existing is not None:
            if existing.order != order:
                raise OrderConflict(f"order {order_id} was initialised with different data")
            return existing.clock
        if len(self._records) >= self.orders_max:
            raise OrderTableFull(f"{self.service} holds {len(self._records)} orders, the most it may")
        clock = VectorClock().tick(self.service)
        self._records[order_id] = OrderRecord(order, clock, OrderPhase.RUNNING, now_s + self.order_ttl_s)
        return clock

    def get(self, order_id: str) -> OrderRecord[T] | None:
        return self._records.get(order_id)

    def is_running(self, order_id: str) -> bool:
        record = self._records.get(order_id)
        return record is not None and record.phase is OrderPhase.RUNNING

    def advance(self, order_id: str, received: VectorClock) -> VectorClock:
        """One local event after receiving `received`: merge, then tick. Returns the event's stamp."""
        record = self._require(order_id)
        clock = record.clock.merge(received).tick(self.service)
        assert record.clock < clock and received < clock, "an event's stamp follows what it saw"
        self._records[order_id] = replace(record, clock=clock)
        return clock

    def stop(self, order_id: str) -> None:
        record = self._require(order_id)
        if record.phase is OrderPhase.RUNNING:
            self._records[order_id] = replace(record, phase=OrderPhase.STOPPED)

    def clear(self, order_id: str, final: VectorClock) -> tuple[ClearOutcome, VectorClock | None]:
        """Drops the order if this service's clock is <= `final`; otherwise keeps it as CONFLICTED."""
        record = self._records.get(order_id)
        if record is None:
            return ClearOutcome.UNKNOWN_ORDER, None
        if record.clock <= final:
            del self._records[order_id]
            return ClearOutcome.CLEARED, record.clock
        self._records[order_id] = replace(record, phase=OrderPhase.CONFLICTED)
        return ClearOutcome.CONFLICT, record.clock

    def expire(self, now_s: float) -> list[str]:
        """Drops orders whose ttl has passed (never cleared, or kept after a conflict); returns their ids."""
        expired: list[str] = []
        for order_id, record in list(self._records.items()):
            if record.expires_at_s > now_s:
                break  # insertion order is expiry order
            del self._records[order_id]
            expired.append(order_id)
        return expired

    def __len__(self) -> int:
        return len(self._records)

    def _require(self, order_id: str) -> OrderRecord[T]:
        record = self._records.get(order_id)
        if record is None:
            raise KeyError(f"order {order_id} is not known to {self.service}")
        return record
