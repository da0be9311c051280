"""The orchestrator's clear broadcast in batches (docs/design.md §3.4): what one order's clear carries, and the bounds
of one service's batch of them (the servicer's cap on orders per ClearOrders).

Pure. The batching itself is utils/batching/core/due_batch.py: a batch goes once full or once its oldest order has
waited `wait_s`; past the backlog bound an order's clear is refused (the caller counts it skipped; the service's ttl
ends the order's state), so a service that is down cannot grow the gateway's memory.
"""

from __future__ import annotations

from dataclasses import dataclass

from utils.batching.core.due_batch import DueBatchLimits
from utils.flow.core.vclock import VectorClock

# The most orders one ClearOrders call carries: the servicer refuses more (INVALID_ARGUMENT). 64 orders of ~100
# bytes each stay far inside the 64 KiB message cap.
CLEAR_BATCH_ORDERS_MAX = 64


@dataclass(frozen=True, slots=True)
class PendingClear:
    order_id: str
    final: VectorClock
    correlation_id: str = ""  # the checkout's, so the service's log line for this order carries it

    def __post_init__(self) -> None:
        if not self.order_id:
            raise ValueError("an order id is required")


def clear_batch_limits(
    *, orders_max: int = CLEAR_BATCH_ORDERS_MAX, wait_s: float = 0.5, backlog_max: int = 1024
) -> DueBatchLimits:
    """One service's batch bounds; orders_max within the servicer's cap."""
    if not 1 <= orders_max <= CLEAR_BATCH_ORDERS_MAX:
        raise ValueError(f"orders_max must be 1..{CLEAR_BATCH_ORDERS_MAX}")
    return DueBatchLimits(items_per_batch_max=orders_max, wait_max_s=wait_s, backlog_max=backlog_max)
