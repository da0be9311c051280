"""A batch of acks (order_queue/core/ack_batch.py): each judged alone and in order, as one call at a time would be.

Records are LeaseRecords at an explicit `now`; the judge returns each ack's answer and what the one commit writes.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from order_queue.core import lease
from order_queue.core.ack_batch import AckInput, Refusal, judge
from order_queue.core.lease import LeaseError, LeaseRecord, State

QUEUED = LeaseRecord(State.QUEUED)


def _held(lease_id: str, expires_at: float = 100.0) -> LeaseRecord:
    return lease.grant(QUEUED, lease_id, expires_at, now=0.0, started=True).record


def test_a_refused_ack_changes_nothing_and_stops_no_other() -> None:
    records = {"a": _held("La"), "b": _held("Lb"), "c": _held("Lc")}
    acks = [
        AckInput("a", "La", State.COMMITTED, total="10.00"),
        AckInput("b", "stale", State.COMMITTED),
        AckInput("ghost", "Lg", State.COMMITTED),
        AckInput("c", "Lc", State.ABORTED, reason="out of stock"),
    ]
    verdict = judge(records, acks, now=1.0)
    assert [j.refusal for j in verdict.judgements] == [None, Refusal.STALE_LEASE, Refusal.UNKNOWN_ORDER, None]
    assert set(verdict.writes) == {"a", "c"}  # "b" keeps its lease: nothing is written for it
    assert (verdict.writes["a"].state, verdict.writes["a"].total) == (State.COMMITTED, "10.00")
    assert (verdict.writes["c"].state, verdict.writes["c"].reason) == (State.ABORTED, "out of stock")
    assert [j.before for j in verdict.judgements] == [State.EXECUTING, State.EXECUTING, None, State.EXECUTING]


def test_a_later_ack_of_the_same_order_meets_what_the_earlier_one_left() -> None:
    verdict = judge(
        {"a": _held("La")},
        [
            AckInput("a", "La", State.COMMITTED),
            AckInput("a", "La", State.ABORTED),
            AckInput("a", "La", State.COMMITTED),
        ],
        now=1.0,
    )
    assert [j.refusal for j in verdict.judgements] == [None, Refusal.STALE_LEASE, None]
    assert verdict.writes["a"].state is State.COMMITTED
    assert verdict.judgements[2].before is State.COMMITTED  # the repeat is accepted and changes nothing


def test_an_outcome_that_is_not_final_is_refused_as_invalid_alone() -> None:
    verdict = judge(
        {"a": _held("La"), "b": _held("Lb")},
        [AckInput("a", "La", State.QUEUED), AckInput("b", "Lb", State.COMMITTED)],
        now=1.0,
    )
    assert [j.refusal for j in verdict.judgements] == [Refusal.INVALID, None]
    assert set(verdict.writes) == {"b"}


def test_a_repeated_final_outcome_is_accepted_without_a_write() -> None:
    done = lease.ack(_held("La"), "La", State.COMMITTED, "", "", now=1.0).record
    verdict = judge({"a": done}, [AckInput("a", "La", State.COMMITTED)], now=2.0)
    assert verdict.judgements[0].accepted and verdict.writes == {}


_IDS = ("a", "b", "c")
_acks = st.lists(
    st.builds(
        AckInput,
        st.sampled_from(_IDS),
        st.sampled_from(("L-a", "L-b", "L-c", "stale")),
        st.sampled_from((State.COMMITTED, State.ABORTED)),
        st.sampled_from(("", "declined")),
        st.sampled_from(("", "9.99")),
    ),
    max_size=12,
)
_records = st.fixed_dictionaries(
    {
        order_id: st.sampled_from(
            (
                _held(f"L-{order_id}"),
                _held(f"L-{order_id}", expires_at=0.5),  # expired, nobody else took it: a late ack is fine
                lease.ack(_held(f"L-{order_id}"), f"L-{order_id}", State.ABORTED, "", "", now=0.0).record,
            )
        )
        for order_id in _IDS
    }
)


@settings(max_examples=300, deadline=None)
@given(records=_records, acks=_acks)
def test_a_batch_answers_exactly_what_the_acks_one_at_a_time_would(
    records: dict[str, LeaseRecord], acks: list[AckInput]
) -> None:
    verdict = judge(records, acks, now=1.0)
    current = dict(records)
    for ack, judgement in zip(acks, verdict.judgements, strict=True):
        try:
            expected = lease.ack(current[ack.order_id], ack.lease_id, ack.outcome, ack.reason, ack.total, 1.0).record
        except LeaseError:
            assert judgement.refusal is Refusal.STALE_LEASE
            continue
        assert judgement.accepted and judgement.record == expected
        current[ack.order_id] = expected
    for order_id, record in current.items():  # what the commit writes is where one-at-a-time ends
        assert verdict.writes.get(order_id, records[order_id]) == record
    assert len(verdict.judgements) == len(acks)
    assert set(verdict.writes) <= {a.order_id for a in acks}
