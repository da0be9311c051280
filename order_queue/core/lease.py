"""The life of a queued order as a table: (state, input) → (next state, effect); anything missing is illegal.

Pure: lease expiry is decided against a `now` argument; the store persists what the table returns.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum


class State(Enum):
    QUEUED = "QUEUED"
    LEASED = "LEASED"
    EXECUTING = "EXECUTING"
    COMMITTED = "COMMITTED"
    ABORTED = "ABORTED"
    REJECTED = "REJECTED"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES

    @property
    def is_held(self) -> bool:
        """Held by a worker's lease."""
        return self in (State.LEASED, State.EXECUTING)


FINAL_STATES = frozenset({State.COMMITTED, State.ABORTED, State.REJECTED})
OUTCOMES = frozenset({State.COMMITTED, State.ABORTED})


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    """The lease-related part of an order's record."""

    state: State
    lease_id: str = ""  # the newest lease granted (kept after expiry: a late ack may still use it)
    lease_expires_at: float = 0.0  # seconds on the queue's clock; meaningful while held
    reason: str = ""
    total: str = ""
    attempts: int = 0  # leases granted


class Verdict(Enum):
    CHANGED = "changed"  # persist the new record
    UNCHANGED = "unchanged"  # accepted, nothing to write (an idempotent repeat)


class LeaseError(Exception):
    """The input is refused in this state (maps to FAILED_PRECONDITION)."""


@dataclass(frozen=True, slots=True)
class Transition:
    record: LeaseRecord
    verdict: Verdict


def expire(record: LeaseRecord, now: float) -> LeaseRecord:
    """A held order whose lease has run out is back in the queue (its lease id is remembered)."""
    if record.state.is_held and now >= record.lease_expires_at:
        return replace(record, state=State.QUEUED)
    return record


def grant(record: LeaseRecord, lease_id: str, lease_s: float, now: float, started: bool = False) -> Transition:
    """A queued order leased until now + lease_s. `started`: the lessee begins at once, so the order is
    EXECUTING from the lease on (the batch lease: one write where LEASED and then EXECUTING took two)."""
    if lease_s <= 0:
        raise ValueError("lease_s must be > 0")
    record = expire(record, now)
    if record.state is not State.QUEUED:
        raise LeaseError(f"cannot lease an order in state {record.state.value}")
    return Transition(
        replace(
            record,
            state=State.EXECUTING if started else State.LEASED,
            lease_id=lease_id,
            lease_expires_at=now + lease_s,
            attempts=record.attempts + 1,
        ),
        Verdict.CHANGED,
    )


def mark_executing(record: LeaseRecord, lease_id: str, now: float) -> Transition:
    record = expire(record, now)
    if record.state is State.EXECUTING and record.lease_id == lease_id:
        return Transition(record, Verdict.UNCHANGED)
    if record.state is not State.LEASED:
        raise LeaseError(f"cannot start an order in state {record.state.value}: lease it first")
    _require_current_lease(record, lease_id)
    return Transition(replace(record, state=State.EXECUTING), Verdict.CHANGED)


def ack(record: LeaseRecord, lease_id: str, outcome: State, reason: str, total: str, now: float) -> Transition:
    """A worker's final outcome. Late acks by the newest lessee are accepted, superseded ones refused."""
    _require_outcome(outcome)
    record = expire(record, now)
    if record.state.is_final:
        return _repeat_final(record, outcome)
    _require_current_lease(record, lease_id)
    return Transition(_finish(record, outcome, reason, total), Verdict.CHANGED)


def decide(record: LeaseRecord, outcome: State, reason: str, total: str) -> Transition:
    """The executor group's decided outcome, recorded without the lease (a new leader's recovery)."""
    _require_outcome(outcome)
    if record.state.is_final:
        return _repeat_final(record, outcome)
    return Transition(_finish(record, outcome, reason, total), Verdict.CHANGED)


def nack(record: LeaseRecord, lease_id: str, now: float) -> Transition:
    record = expire(record, now)
    if record.state.is_final or record.state is State.QUEUED:
        return Transition(record, Verdict.UNCHANGED)  # nothing is held: giving it back changes nothing
    _require_current_lease(record, lease_id)
    return Transition(replace(record, state=State.QUEUED, lease_expires_at=0.0), Verdict.CHANGED)


def _finish(record: LeaseRecord, outcome: State, reason: str, total: str) -> LeaseRecord:
    return replace(record, state=outcome, reason=reason, total=total or record.total, lease_expires_at=0.0)


def _repeat_final(record: LeaseRecord, outcome: State) -> Transition:
    if record.state is outcome:
        return Transition(record, Verdict.UNCHANGED)
    raise LeaseError(f"order is already {record.state.value}; refusing {outcome.value}")


def _require_outcome(outcome: State) -> None:
    if outcome not in OUTCOMES:
        raise ValueError(f"an outcome is COMMITTED or ABORTED, not {outcome.value}")


def _require_current_lease(record: LeaseRecord, lease_id: str) -> None:
    if not lease_id or lease_id != record.lease_id:
        raise LeaseError("stale or unknown lease id: the order was leased again since")
