"""A service's per-order state: init ticks the clock, events merge then tick, clear only if own <= final."""

from __future__ import annotations

import pytest

from utils.flow.core.order_table import ClearOutcome, OrderConflict, OrderPhase, OrderTable, OrderTableFull
from utils.flow.core.vclock import VectorClock

FD = "fraud_detection"


def table(orders_max: int = 10, order_ttl_s: float = 60.0) -> OrderTable[str]:
    return OrderTable(FD, orders_max=orders_max, order_ttl_s=order_ttl_s)


def test_init_is_the_first_event_and_a_retry_is_idempotent() -> None:
    t = table()
    assert t.init("o1", "order", now_s=0.0) == VectorClock.of({FD: 1})
    assert t.init("o1", "order", now_s=1.0) == VectorClock.of({FD: 1})
    with pytest.raises(OrderConflict):
        t.init("o1", "another order", now_s=1.0)


def test_an_event_merges_what_it_received_then_ticks() -> None:
    t = table()
    t.init("o1", "order", 0.0)
    stamp = t.advance("o1", VectorClock.of({"transaction_verification": 3}))
    assert stamp == VectorClock.of({"transaction_verification": 3, FD: 2})
    stamp = t.advance("o1", VectorClock.of({"transaction_verification": 4}))
    assert stamp == VectorClock.of({"transaction_verification": 4, FD: 3})


def test_clear_only_when_own_clock_is_covered_by_the_final_clock() -> None:
    t = table()
    t.init("o1", "order", 0.0)
    t.advance("o1", VectorClock.of({"transaction_verification": 3}))
    # The final clock missed this service's event: keep the state, report the conflict.
    outcome, clock = t.clear("o1", VectorClock.of({"transaction_verification": 4, FD: 1}))
    assert outcome is ClearOutcome.CONFLICT and clock == VectorClock.of({"transaction_verification": 3, FD: 2})
    record = t.get("o1")
    assert record is not None and record.phase is OrderPhase.CONFLICTED and not t.is_running("o1")
    outcome, _ = t.clear("o1", VectorClock.of({"transaction_verification": 4, FD: 2}))
    assert outcome is ClearOutcome.CLEARED and t.get("o1") is None
    assert t.clear("o1", VectorClock())[0] is ClearOutcome.UNKNOWN_ORDER


def test_bounded_and_expiring() -> None:
    t = table(orders_max=2, order_ttl_s=10.0)
    t.init("o1", "a", 0.0)
    t.init("o2", "b", 5.0)
    with pytest.raises(OrderTableFull):
        t.init("o3", "c", 6.0)
    assert t.expire(now_s=9.9) == []
    assert t.expire(now_s=10.0) == ["o1"]
    t.init("o3", "c", 10.0)
    assert len(t) == 2


def test_stop_ends_the_flow_for_the_order() -> None:
    t = table()
    t.init("o1", "a", 0.0)
    t.stop("o1")
    assert not t.is_running("o1")
    with pytest.raises(KeyError):
        t.stop("unknown")
