"""The 2PC timeline's journal and merge (order_executor/core/timeline.py): bounded, logged entries once each with
every replica that applied them and the closest term, other steps as the leader recorded them, by time."""

from __future__ import annotations

from order_executor.core.timeline import Journal, Kind, Step, merge


def test_a_full_journal_counts_what_it_drops_and_the_oldest_transaction_goes_first() -> None:
    journal = Journal(transactions_max=2, steps_per_transaction_max=2)
    assert journal.add("t1", Step(Kind.PREPARE_SENT, 1.0, "e1"))
    assert journal.add("t1", Step(Kind.VOTE, 1.1, "e1"))
    assert not journal.add("t1", Step(Kind.ACK, 1.2, "e1"))
    assert journal.dropped("t1") == 1 and len(journal.steps("t1")) == 2
    journal.add("t2", Step(Kind.PREPARE_SENT, 2.0, "e1"))
    journal.add("t3", Step(Kind.PREPARE_SENT, 3.0, "e1"))
    assert journal.steps("t1") == () and journal.dropped("t1") == 0 and len(journal) == 2


def test_merge_shows_each_logged_entry_once_with_every_replica_that_applied_it() -> None:
    leader = [
        Step(Kind.BEGIN_LOGGED, 1.0, "e1", term=3, index=10),
        Step(Kind.PREPARE_SENT, 1.1, "e1", term=3, participant="payment_service"),
        Step(Kind.VOTE, 1.2, "e1", term=3, participant="payment_service", ok=True),
        Step(Kind.DECISION_LOGGED, 1.3, "e1", term=3, index=11, detail="COMMIT"),
        Step(Kind.PHASE2_SENT, 1.4, "e1", term=3, participant="payment_service", detail="COMMIT"),
    ]
    # A follower that had already heard of term 4 when it applied index 11: the smaller term is the entry's.
    follower = [
        Step(Kind.BEGIN_LOGGED, 1.05, "e2", term=3, index=10),
        Step(Kind.DECISION_LOGGED, 1.35, "e2", term=4, index=11, detail="COMMIT"),
    ]
    timeline = merge([leader, follower])
    kinds = [t.step.kind for t in timeline]
    assert kinds == [Kind.BEGIN_LOGGED, Kind.PREPARE_SENT, Kind.VOTE, Kind.DECISION_LOGGED, Kind.PHASE2_SENT]
    decision = timeline[3]
    assert decision.applied_by == ("e1", "e2") and decision.step.term == 3 and decision.step.index == 11


def test_a_recovery_by_a_new_leader_follows_what_the_survivors_applied() -> None:
    # e1 led and died after logging the decision; e2 and e3 applied it, then e2 led and resent it.
    e2 = [
        Step(Kind.BEGIN_LOGGED, 1.0, "e2", term=3, index=10),
        Step(Kind.DECISION_LOGGED, 1.3, "e2", term=3, index=11, detail="COMMIT"),
        Step(Kind.RECOVERY, 5.0, "e2", term=4, detail="resend the logged decision COMMIT"),
        Step(Kind.PHASE2_SENT, 5.1, "e2", term=4, participant="books_database", detail="COMMIT"),
        Step(Kind.ACK, 5.2, "e2", term=4, participant="books_database", ok=True),
        Step(Kind.END_LOGGED, 5.4, "e2", term=4, index=15),
    ]
    e3 = [Step(Kind.DECISION_LOGGED, 1.31, "e3", term=3, index=11, detail="COMMIT")]
    timeline = merge([e2, e3])
    assert [t.step.kind for t in timeline][2:4] == [Kind.RECOVERY, Kind.PHASE2_SENT]
    assert timeline[2].step.term == 4 and timeline[1].applied_by == ("e2", "e3")
