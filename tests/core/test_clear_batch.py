"""The clear broadcast's batches: full batches go at once, a lone order after the bounded wait, never more than the
servicer's cap in one batch, and a bounded backlog that refuses (never drops silently) what does not fit.

The batch is a DueBatch (tests/core/test_due_batch.py holds its properties); here, a clear's own bounds and fields."""

from __future__ import annotations

import random

import pytest

from utils.batching.core.due_batch import DueBatch
from utils.flow.core.clear_batch import CLEAR_BATCH_ORDERS_MAX, PendingClear, clear_batch_limits
from utils.flow.core.vclock import VectorClock

FINAL = VectorClock.of({"transaction_verification": 4, "fraud_detection": 3, "suggestions": 2})


def _lane(*, orders_max: int, wait_s: float, backlog_max: int) -> DueBatch[PendingClear]:
    return DueBatch(clear_batch_limits(orders_max=orders_max, wait_s=wait_s, backlog_max=backlog_max))


def test_a_full_batch_is_due_at_once_and_carries_the_oldest_orders_in_order() -> None:
    b = _lane(orders_max=4, wait_s=10.0, backlog_max=16)
    for n in range(6):
        assert b.add(PendingClear(f"o{n}", FINAL), now=0.0)
    assert b.due_in_s(0.0) == 0.0
    assert [p.order_id for p in b.take(0.0)] == ["o0", "o1", "o2", "o3"]
    # Two left: not full, and their wait has not passed.
    assert b.take(0.0) == () and b.due_in_s(1.0) == pytest.approx(9.0)
    assert [p.order_id for p in b.take(10.0)] == ["o4", "o5"]
    assert len(b) == 0 and b.due_in_s(10.0) is None


def test_a_lone_order_waits_at_most_the_bounded_wait() -> None:
    b = _lane(orders_max=64, wait_s=0.05, backlog_max=64)
    b.add(PendingClear("o1", FINAL, correlation_id="cid-1"), now=1.0)
    assert b.take(1.049) == ()
    assert b.due_in_s(1.02) == pytest.approx(0.03)
    (only,) = b.take(1.05)
    assert (only.order_id, only.final, only.correlation_id) == ("o1", FINAL, "cid-1")


def test_the_backlog_is_bounded_and_refuses_what_does_not_fit() -> None:
    b = _lane(orders_max=2, wait_s=0.0, backlog_max=3)
    assert [b.add(PendingClear(f"o{n}", FINAL), 0.0) for n in range(5)] == [True, True, True, False, False]
    assert len(b) == 3
    assert len(b.take(0.0)) == 2
    assert b.add(PendingClear("o5", FINAL), 0.0)  # room again once a batch has gone


def test_no_batch_ever_exceeds_the_servicers_cap_and_every_order_goes_exactly_once() -> None:
    rng = random.Random(14)
    for _ in range(200):
        cap = rng.randint(1, CLEAR_BATCH_ORDERS_MAX)
        b = _lane(orders_max=cap, wait_s=rng.choice([0.0, 0.01, 0.05]), backlog_max=cap * rng.randint(1, 4))
        now = 0.0
        added: list[str] = []
        sent: list[str] = []
        for n in range(rng.randint(0, 300)):
            now += rng.random() * 0.02
            if b.add(PendingClear(f"o{n}", FINAL), now):
                added.append(f"o{n}")
            if rng.random() < 0.3:
                batch = b.take(now)
                assert len(batch) <= cap
                sent.extend(p.order_id for p in batch)
        while len(b):
            batch = b.take_any()
            assert 0 < len(batch) <= cap
            sent.extend(p.order_id for p in batch)
        assert sent == added  # oldest first, none lost, none twice


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError):
        clear_batch_limits(orders_max=CLEAR_BATCH_ORDERS_MAX + 1)
    with pytest.raises(ValueError):
        clear_batch_limits(orders_max=0)
    with pytest.raises(ValueError):
        clear_batch_limits(orders_max=8, backlog_max=4)
    with pytest.raises(ValueError):
        clear_batch_limits(wait_s=-0.1)
    with pytest.raises(ValueError):
        PendingClear("", FINAL)
    assert clear_batch_limits().items_per_batch_max == CLEAR_BATCH_ORDERS_MAX
