"""The executor's 2PC journal hooks (order_executor/timeline.py), without a network: the decision log journals
what it applies with the term the leader stamped, and the participants' wrapper journals votes, acks and retries."""

from __future__ import annotations

import pytest

from order_executor.core.decision_log import Applied, encode_begin, encode_decision, encode_ends
from order_executor.core.order import Item, OrderSummary, Outcome
from order_executor.core.timeline import Kind
from order_executor.participants import NoAnswer, VoteReply
from order_executor.timeline import JournaledDecisionLog, JournalingParticipant, TimelineRecorder, term_stamped

ORDER = OrderSummary("o1", (Item("b1", 1, 500),), 500)


def test_a_replica_that_applies_the_decision_in_a_later_term_journals_the_term_it_was_logged_in() -> None:
    leader_term = [3]
    proposed: list[bytes] = []
    leader_log = JournaledDecisionLog(TimelineRecorder("executor-1", wall=lambda: 1.0))

    def propose(command: bytes, timeout_s: float) -> Applied:
        proposed.append(command)
        return leader_log.apply(len(proposed), command)

    stamped = term_stamped(propose, lambda: leader_term[0])
    stamped(encode_begin(ORDER), 1.0)
    stamped(encode_decision("o1", Outcome.COMMIT, ""), 1.0)
    # A follower hears of the commit only from the next leader, in term 4: the journal still says term 3.
    recorder = TimelineRecorder("executor-2", wall=lambda: 2.0)
    follower = JournaledDecisionLog(recorder)
    follower.attach_term(lambda: 4)
    for index, command in enumerate(proposed, start=1):
        follower.apply(index, command)
    steps, dropped = recorder.steps("o1")
    assert [(s.kind, s.index, s.term) for s in steps] == [(Kind.BEGIN_LOGGED, 1, 3), (Kind.DECISION_LOGGED, 2, 3)]
    assert steps[1].detail == "COMMIT" and dropped == 0
    assert follower.record("o1") == leader_log.record("o1"), "the stamp changes nothing the log decides"


def test_batched_ends_are_journaled_for_each_transaction_under_the_entry_that_carried_them() -> None:
    recorder = TimelineRecorder("executor-1", wall=lambda: 1.0)
    log = JournaledDecisionLog(recorder)
    second = OrderSummary("o2", (Item("b1", 1, 500),), 500)
    third = OrderSummary("o3", (Item("b1", 1, 500),), 500)
    stamped = term_stamped(lambda command, _t: log.apply(log.applied_index + 1, command), lambda: 5)
    for order in (ORDER, second):
        stamped(encode_begin(order), 1.0)
        stamped(encode_decision(order.order_id, Outcome.ABORT, "x"), 1.0)
    stamped(encode_begin(third, ends=("o1",)), 1.0)  # o1's END rides on o3's BEGIN (index 5)
    stamped(encode_ends(("o2",)), 1.0)  # o2's goes alone (index 6)
    kinds = {tx: [(s.kind, s.index, s.term) for s in recorder.steps(tx)[0]] for tx in ("o1", "o2", "o3")}
    assert kinds["o1"][-1] == (Kind.END_LOGGED, 5, 5) and kinds["o2"][-1] == (Kind.END_LOGGED, 6, 5)
    assert kinds["o3"] == [(Kind.BEGIN_LOGGED, 5, 5)], "the carrier's own step, and no END of its own"


class _Books:
    name = "books_database"

    def __init__(self) -> None:
        self.commits = 0

    def prepare(self, order: OrderSummary, term: int, timeout_s: float) -> VoteReply:
        return VoteReply(False, "not enough stock")

    def commit(self, tx_id: str, term: int, timeout_s: float) -> None:
        self.commits += 1
        if self.commits == 1:
            raise NoAnswer("DEADLINE_EXCEEDED")

    def abort(self, tx_id: str, term: int, timeout_s: float) -> None:
        pass


def test_the_participant_wrapper_journals_a_no_vote_with_its_reason_and_a_retry_after_no_ack() -> None:
    recorder = TimelineRecorder("executor-1", wall=lambda: 1.0)
    books = JournalingParticipant(_Books(), recorder)
    assert books.prepare(ORDER, 2, 1.0) == VoteReply(False, "not enough stock")
    with pytest.raises(NoAnswer):
        books.commit("o1", 2, 1.0)
    books.commit("o1", 2, 1.0)
    steps, _ = recorder.steps("o1")
    summary = [(s.kind, s.ok, s.round) for s in steps]
    assert summary == [
        (Kind.PREPARE_SENT, False, 0),
        (Kind.VOTE, False, 0),
        (Kind.PHASE2_SENT, False, 0),
        (Kind.ACK, False, 0),
        (Kind.RETRY, False, 1),
        (Kind.ACK, True, 1),
    ]
    assert steps[1].detail == "not enough stock" and "DEADLINE_EXCEEDED" in steps[3].detail
