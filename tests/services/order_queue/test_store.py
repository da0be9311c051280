"""The queue's SQLite store: priority order through leases, expiry, bounds, and durability across reopen.

A fake clock drives time; each store is a file under tmp_path.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from order_queue.core.ack_batch import AckInput, Refusal
from order_queue.core.lease import LeaseError, State
from order_queue.core.policy import OrderFeatures, PriorityPolicy, Shipping
from order_queue.store import QueueFull, QueueStore, UnknownOrder


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _store(path: Path, clock: Clock, depth_max: int = 100, final_records_max: int = 1_000) -> QueueStore:
    ids = itertools.count(1)
    return QueueStore(
        path / "queue.sqlite3",
        PriorityPolicy(),
        depth_max=depth_max,
        final_records_max=final_records_max,
        clock=clock,
        new_lease_id=lambda: f"L{next(ids)}",
    )


def _features(quantity: int = 1, shipping: str = "standard", gift: bool = False) -> OrderFeatures:
    return OrderFeatures(quantity, Shipping.parse(shipping), gift)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_leases_come_out_highest_priority_first_ties_by_arrival(tmp_path: Path, clock: Clock) -> None:
    store = _store(tmp_path, clock)
    store.enqueue("std-1", b"a", _features())
    store.enqueue("express", b"b", _features(shipping="express"))
    store.enqueue("std-2", b"c", _features())
    store.enqueue("big-gift", b"d", _features(quantity=4, gift=True))
    leased = [store.lease(30.0) for _ in range(4)]
    assert [o.order_id for o in leased if o] == ["express", "big-gift", "std-1", "std-2"]
    assert store.lease(30.0) is None


def test_enqueue_is_idempotent_per_order_id(tmp_path: Path, clock: Clock) -> None:
    store = _store(tmp_path, clock)
    first = store.enqueue("o1", b"payload", _features())
    clock.now += 5
    again = store.enqueue("o1", b"other", _features(shipping="express"))
    assert first.created and not again.created
    assert again.order.payload == b"payload" and again.order.enqueued_at == first.order.enqueued_at
    assert store.stats().depth == 1


def test_an_expired_lease_returns_the_order_at_its_priority(tmp_path: Path, clock: Clock) -> None:
    store = _store(tmp_path, clock)
    store.enqueue("express", b"", _features(shipping="express"))
    store.enqueue("standard", b"", _features())
    held = store.lease(10.0)
    assert held is not None and held.order_id == "express"
    clock.now += 10.0
    assert store.get("express").state is State.QUEUED  # type: ignore[union-attr]
    again = store.lease(10.0)
    assert again is not None and again.order_id == "express" and again.attempts == 2
    with pytest.raises(LeaseError):
        store.ack("express", held.lease_id, State.COMMITTED, "", "")  # the first lease was superseded
    assert store.ack("express", again.lease_id, State.COMMITTED, "", "34.99").state is State.COMMITTED


def test_the_queue_is_bounded(tmp_path: Path, clock: Clock) -> None:
    store = _store(tmp_path, clock, depth_max=2)
    store.enqueue("o1", b"", _features())
    store.enqueue("o2", b"", _features())
    with pytest.raises(QueueFull):
        store.enqueue("o3", b"", _features())
    leased = store.lease(10.0)
    assert leased is not None
    store.ack(leased.order_id, leased.lease_id, State.COMMITTED, "", "")
    assert store.enqueue("o3", b"", _features()).created  # a finished order frees its place


def test_an_acknowledged_enqueue_survives_closing_and_reopening_the_store(tmp_path: Path, clock: Clock) -> None:
    store = _store(tmp_path, clock)
    store.enqueue("standard", b"s", _features())
    store.enqueue("express", b"e", _features(shipping="express"))
    store.record_rejected("bad", b"r", "Invalid credit card format")
    held = store.lease(60.0)
    assert held is not None
    store.mark_executing(held.order_id, held.lease_id)
    store.close()

    reopened = _store(tmp_path, clock)
    assert reopened.get("express").state is State.EXECUTING  # type: ignore[union-attr]
    rejected = reopened.get("bad")
    assert rejected is not None and (rejected.state, rejected.reason) == (State.REJECTED, "Invalid credit card format")
    assert reopened.stats().depth == 2
    nxt = reopened.lease(60.0)
    assert nxt is not None and (nxt.order_id, nxt.payload) == ("standard", b"s")
    clock.now += 60.0  # the executing lease runs out after the restart as well
    assert reopened.lease(60.0).order_id == "express"  # type: ignore[union-attr]


def test_record_rejected_is_idempotent_and_unknown_ids_are_reported(tmp_path: Path, clock: Clock) -> None:
    store = _store(tmp_path, clock)
    assert store.record_rejected("r1", b"", "terms not accepted")
    assert not store.record_rejected("r1", b"", "other")
    assert store.get("nope") is None
    with pytest.raises(UnknownOrder):
        store.ack("nope", "L1", State.COMMITTED, "", "")


def test_finished_orders_beyond_the_bound_are_forgotten_oldest_first(tmp_path: Path, clock: Clock) -> None:
    store = _store(tmp_path, clock, final_records_max=10)
    for i in range(100):
        clock.now += 1
        store.record_rejected(f"r{i}", b"", "x")
    assert store.get("r0") is None
    assert store.get("r99") is not None


def test_stats_count_waiting_and_leased_orders(tmp_path: Path, clock: Clock) -> None:
    store = _store(tmp_path, clock)
    for i in range(3):
        store.enqueue(f"o{i}", b"", _features())
    store.lease(10.0)
    stats = store.stats()
    assert (stats.depth, stats.leased, stats.depth_max) == (3, 1, 100)
    clock.now += 10.0
    assert store.stats().leased == 0


def _enqueue_mix(store: QueueStore, clock: Clock) -> None:
    """Six orders whose service order needs both the base priority and aging (1 point per second waited)."""
    for order_id, features, wait_s in (
        ("old-std", _features(), 15.0),  # 15 s older than the rest: aging lifts it above priority shipping
        ("std-1", _features(), 0.0),
        ("express", _features(shipping="express"), 0.0),
        ("priority", _features(shipping="priority"), 0.0),
        ("std-2", _features(), 0.0),
        ("big-gift", _features(quantity=4, gift=True), 0.0),
    ):
        store.enqueue(order_id, b"", features)
        clock.now += wait_s


def test_a_batch_lease_takes_orders_in_the_service_order_of_single_leases(tmp_path: Path, clock: Clock) -> None:
    one_at_a_time = _store(tmp_path / "single", clock)
    _enqueue_mix(one_at_a_time, clock)
    expected = [o.order_id for o in iter(lambda: one_at_a_time.lease(30.0), None) if o]
    assert expected == ["express", "old-std", "priority", "big-gift", "std-1", "std-2"]  # aging put old-std 2nd

    batched = _store(tmp_path / "batch", clock)
    _enqueue_mix(batched, clock)
    first = batched.lease_batch(30.0, 4)
    rest = batched.lease_batch(30.0, 4)
    assert [o.order_id for o in first + rest] == expected
    assert (len(first), len(rest), batched.lease_batch(30.0, 4)) == (4, 2, [])
    assert all(o.state is State.EXECUTING and o.attempts == 1 for o in first + rest)
    assert len({o.lease_id for o in first + rest}) == 6


def test_a_batch_lease_is_one_commit_and_executing_survives_reopening(tmp_path: Path, clock: Clock) -> None:
    store = _store(tmp_path, clock)
    for i in range(3):
        store.enqueue(f"o{i}", b"", _features())
    commits = store.commits
    leased = store.lease_batch(10.0, 8)
    assert (len(leased), store.commits - commits) == (3, 1)
    assert store.lease_batch(10.0, 8) == [] and store.commits - commits == 1  # nothing to write: no fsync
    store.close()
    reopened = _store(tmp_path, clock)
    assert [reopened.get(f"o{i}").state for i in range(3)] == [State.EXECUTING] * 3  # type: ignore[union-attr]
    clock.now += 10.0  # an executing lease runs out like any lease: a batch takes the orders again
    again = reopened.lease_batch(10.0, 8)
    assert [(o.order_id, o.attempts) for o in again] == [("o0", 2), ("o1", 2), ("o2", 2)]


def test_an_ack_batch_judges_each_ack_alone_and_writes_all_in_one_commit(tmp_path: Path, clock: Clock) -> None:
    store = _store(tmp_path, clock)
    for i in range(3):
        store.enqueue(f"o{i}", b"", _features())
    o0, o1, o2 = store.lease_batch(10.0, 3)
    commits = store.commits
    answers = store.ack_batch(
        [
            AckInput("o0", o0.lease_id, State.COMMITTED, total="12.50"),
            AckInput("o1", "stale", State.COMMITTED),
            AckInput("ghost", "L", State.COMMITTED),
            AckInput("o2", o2.lease_id, State.ABORTED, reason="declined"),
        ]
    )
    assert store.commits - commits == 1
    assert [a.judgement.refusal for a in answers] == [None, Refusal.STALE_LEASE, Refusal.UNKNOWN_ORDER, None]
    assert [a.order.state if a.order else None for a in answers] == [State.COMMITTED, None, None, State.ABORTED]
    store.close()
    reopened = _store(tmp_path, clock)  # answered after the commit: durable
    assert (reopened.get("o0").state, reopened.get("o0").total) == (State.COMMITTED, "12.50")  # type: ignore[union-attr]
    assert reopened.get("o1").state is State.EXECUTING  # type: ignore[union-attr]
    assert reopened.get("o2").reason == "declined"  # type: ignore[union-attr]
    assert reopened.ack("o1", o1.lease_id, State.COMMITTED, "", "").state is State.COMMITTED
