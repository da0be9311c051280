"""The order lease table (order_queue/core/lease.py): grant, expiry against `now`, ack, nack, recovery.

Each test names the rule it checks; time is an explicit `now` in seconds.
"""

from __future__ import annotations

import pytest

from order_queue.core import lease
from order_queue.core.lease import LeaseError, LeaseRecord, State, Verdict

QUEUED = LeaseRecord(State.QUEUED)


def _leased(lease_id: str = "L1", expires_at: float = 10.0) -> LeaseRecord:
    return lease.grant(QUEUED, lease_id, expires_at, now=0.0).record


def test_grant_leases_a_queued_order_until_now_plus_lease_s() -> None:
    t = lease.grant(QUEUED, "L1", 30.0, now=5.0)
    assert t.verdict is Verdict.CHANGED
    assert (t.record.state, t.record.lease_id, t.record.lease_expires_at, t.record.attempts) == (
        State.LEASED,
        "L1",
        35.0,
        1,
    )


def test_a_held_order_cannot_be_leased_again_before_its_lease_expires() -> None:
    with pytest.raises(LeaseError):
        lease.grant(_leased(expires_at=10.0), "L2", 10.0, now=9.9)


def test_an_expired_lease_puts_the_order_back_and_a_new_lease_supersedes_it() -> None:
    held = _leased(expires_at=10.0)
    assert lease.expire(held, now=9.9).state is State.LEASED
    assert lease.expire(held, now=10.0).state is State.QUEUED
    again = lease.grant(held, "L2", 10.0, now=10.0).record
    assert (again.state, again.lease_id, again.attempts) == (State.LEASED, "L2", 2)


def test_ack_with_the_current_lease_records_the_outcome_reason_and_total() -> None:
    t = lease.ack(_leased(), "L1", State.ABORTED, "out of stock", "12.50", now=1.0)
    assert (t.record.state, t.record.reason, t.record.total) == (State.ABORTED, "out of stock", "12.50")


def test_ack_with_a_superseded_lease_is_refused() -> None:
    re_leased = lease.grant(_leased("L1", 10.0), "L2", 10.0, now=11.0).record
    with pytest.raises(LeaseError, match="stale"):
        lease.ack(re_leased, "L1", State.COMMITTED, "", "", now=12.0)


def test_a_late_ack_by_the_newest_lessee_is_accepted_while_nobody_else_holds_the_order() -> None:
    expired = _leased("L1", 10.0)
    t = lease.ack(expired, "L1", State.COMMITTED, "", "9.99", now=50.0)
    assert t.record.state is State.COMMITTED


def test_the_same_final_outcome_again_is_an_idempotent_no_op_whatever_the_lease() -> None:
    done = lease.ack(_leased(), "L1", State.COMMITTED, "", "1.00", now=1.0).record
    repeat = lease.ack(done, "some-old-lease", State.COMMITTED, "", "1.00", now=2.0)
    assert repeat.verdict is Verdict.UNCHANGED and repeat.record == done


def test_a_conflicting_final_outcome_is_refused() -> None:
    done = lease.ack(_leased(), "L1", State.COMMITTED, "", "", now=1.0).record
    with pytest.raises(LeaseError, match="already COMMITTED"):
        lease.ack(done, "L1", State.ABORTED, "late", "", now=2.0)


def test_an_outcome_is_committed_or_aborted_only() -> None:
    with pytest.raises(ValueError):
        lease.ack(_leased(), "L1", State.EXECUTING, "", "", now=1.0)


def test_nack_returns_a_held_order_to_the_queue() -> None:
    t = lease.nack(_leased(), "L1", now=1.0)
    assert t.record.state is State.QUEUED and t.verdict is Verdict.CHANGED


def test_nack_with_a_stale_lease_is_refused_and_nack_of_a_final_order_changes_nothing() -> None:
    re_leased = lease.grant(_leased("L1", 10.0), "L2", 10.0, now=11.0).record
    with pytest.raises(LeaseError):
        lease.nack(re_leased, "L1", now=12.0)
    done = lease.ack(re_leased, "L2", State.COMMITTED, "", "", now=12.0).record
    assert lease.nack(done, "L2", now=13.0).verdict is Verdict.UNCHANGED


def test_executing_needs_the_current_unexpired_lease() -> None:
    held = _leased("L1", 10.0)
    assert lease.mark_executing(held, "L1", now=1.0).record.state is State.EXECUTING
    with pytest.raises(LeaseError):
        lease.mark_executing(held, "L9", now=1.0)
    with pytest.raises(LeaseError, match="lease it first"):
        lease.mark_executing(held, "L1", now=10.0)  # expired: back in the queue


def test_an_executing_order_whose_lease_expires_is_queued_again() -> None:
    executing = lease.mark_executing(_leased("L1", 10.0), "L1", now=1.0).record
    assert lease.expire(executing, now=10.0).state is State.QUEUED


def test_decide_records_the_executor_groups_outcome_without_a_lease() -> None:
    """Recovery by a new executor leader: it knows the decision but not the old leader's lease."""
    t = lease.decide(_leased("L1", 10.0), State.ABORTED, "presumed abort", "")
    assert (t.record.state, t.record.reason) == (State.ABORTED, "presumed abort")
    assert lease.decide(t.record, State.ABORTED, "presumed abort", "").verdict is Verdict.UNCHANGED
    with pytest.raises(LeaseError):
        lease.decide(t.record, State.COMMITTED, "", "")


def test_a_rejected_order_is_final_and_cannot_be_leased() -> None:
    rejected = LeaseRecord(State.REJECTED, reason="bad card")
    assert rejected.state.is_final
    with pytest.raises(LeaseError):
        lease.grant(rejected, "L1", 10.0, now=0.0)


def test_a_started_grant_makes_the_order_executing_under_the_new_lease() -> None:
    t = lease.grant(QUEUED, "L1", 30.0, now=5.0, started=True)
    assert (t.verdict, t.record.state, t.record.lease_id, t.record.lease_expires_at, t.record.attempts) == (
        Verdict.CHANGED,
        State.EXECUTING,
        "L1",
        35.0,
        1,
    )
    # Idempotent with the old two-step path: a later SetState(EXECUTING) under the same lease changes nothing.
    assert lease.mark_executing(t.record, "L1", now=6.0).verdict is Verdict.UNCHANGED


def test_a_started_lease_expires_back_to_the_queue_like_any_lease() -> None:
    started = lease.grant(QUEUED, "L1", 10.0, now=0.0, started=True).record
    assert lease.expire(started, now=9.9).state is State.EXECUTING
    assert lease.expire(started, now=10.0).state is State.QUEUED
    with pytest.raises(LeaseError):
        lease.grant(started, "L2", 10.0, now=9.9, started=True)
    assert lease.grant(started, "L2", 10.0, now=10.0, started=True).record.attempts == 2
