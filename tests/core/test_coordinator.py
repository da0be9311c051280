"""Table tests of the 2PC coordinator: each rule of docs/design.md §4, and the durability order of
docs/design.md §10 rule 3.

Inputs in, effects out: no sockets, no clock.
"""

from __future__ import annotations

import pytest

from order_executor.core.coordinator import (
    Ack,
    Begin,
    BeginDurable,
    DecisionDurable,
    Dropped,
    Effect,
    IllegalInput,
    LogBegin,
    LogDecision,
    LogEnd,
    Phase,
    Phase2Timeout,
    PrepareTimeout,
    ReportOutcome,
    Resume,
    SendAbort,
    SendCommit,
    SendPrepare,
    Transaction,
    Vote,
    new_transaction,
    step,
)
from order_executor.core.order import Item, OrderSummary, Outcome

ORDER = OrderSummary("o1", (Item("b1", 2, 1000),), 2000, "tok", "1111")
PARTS = ["payment", "books"]


def run(tx: Transaction, *inputs: object) -> tuple[list[Effect], Transaction]:
    effects: list[Effect] = []
    for msg in inputs:
        out, tx = step(tx, msg)  # type: ignore[arg-type]
        effects.extend(out)
    return effects, tx


def preparing() -> Transaction:
    return run(new_transaction("o1", PARTS), Begin(ORDER), BeginDurable())[1]


def test_rule_begin_is_logged_before_any_prepare_is_sent() -> None:
    effects, tx = step(new_transaction("o1", PARTS), Begin(ORDER))
    assert effects == [LogBegin(ORDER)] and tx.phase is Phase.BEGINNING
    effects, tx = step(tx, BeginDurable())
    assert effects == [SendPrepare("books"), SendPrepare("payment")] and tx.phase is Phase.PREPARING


def test_rule_all_commit_votes_log_commit_and_nothing_is_sent_before_it_is_durable() -> None:
    effects, tx = run(preparing(), Vote("payment", True), Vote("books", True))
    assert effects == [LogDecision(Outcome.COMMIT, "")]
    assert tx.phase is Phase.DECIDING
    effects, tx = step(tx, DecisionDurable(Outcome.COMMIT))
    assert effects == [SendCommit("books"), SendCommit("payment")] and tx.phase is Phase.COMMITTING


def test_rule_one_abort_vote_decides_abort_with_its_reason() -> None:
    effects, tx = run(preparing(), Vote("payment", True), Vote("books", False, "not enough stock for b1"))
    assert effects == [LogDecision(Outcome.ABORT, "not enough stock for b1")]
    effects, tx = step(tx, DecisionDurable(Outcome.ABORT, "not enough stock for b1"))
    assert effects == [SendAbort("books"), SendAbort("payment")], "abort goes to every participant, voters included"


def test_rule_a_missing_answer_decides_abort_naming_the_silent_participant() -> None:
    effects, tx = run(preparing(), Vote("books", True), PrepareTimeout())
    assert effects == [LogDecision(Outcome.ABORT, "payment did not answer prepare in time")]


def test_rule_the_logged_decision_wins_over_the_proposed_one() -> None:
    # A decision logged earlier for this tx (first one wins in the log) is the one phase 2 carries out.
    _, tx = run(preparing(), PrepareTimeout())
    effects, tx = step(tx, DecisionDurable(Outcome.COMMIT, ""))
    assert effects == [SendCommit("books"), SendCommit("payment")] and tx.outcome is Outcome.COMMIT


def test_rule_phase2_resends_to_unacked_participants_until_all_ack_then_end_and_report() -> None:
    _, tx = run(preparing(), Vote("payment", True), Vote("books", True), DecisionDurable(Outcome.COMMIT))
    effects, tx = run(tx, Ack("books"), Phase2Timeout())
    assert effects == [SendCommit("payment")]
    effects, tx = run(tx, Phase2Timeout(), Phase2Timeout())
    assert effects == [SendCommit("payment"), SendCommit("payment")], "phase 2 never gives up"
    effects, tx = step(tx, Ack("payment"))
    # The END goes to the batch (not awaited): the outcome is reported as soon as every participant acked.
    assert effects == [LogEnd(), ReportOutcome(Outcome.COMMIT, "", 2000)] and tx.phase is Phase.DONE


def test_rule_no_end_before_every_participant_acked() -> None:
    """END lets a new leader skip the transaction: one before the last ack would leave a participant unanswered."""
    _, tx = run(preparing(), Vote("payment", True), Vote("books", True), DecisionDurable(Outcome.COMMIT))
    effects, tx = run(tx, Ack("books"), Ack("books"), Phase2Timeout())
    assert not any(isinstance(e, (LogEnd, ReportOutcome)) for e in effects) and tx.phase is Phase.COMMITTING
    effects, tx = run(tx, Ack("payment"), Ack("payment"), Phase2Timeout())
    assert [e for e in effects if isinstance(e, LogEnd)] == [LogEnd()], "exactly one END, after the last ack"


def test_rule_duplicate_acks_count_once() -> None:
    _, tx = run(preparing(), Vote("payment", True), Vote("books", True), DecisionDurable(Outcome.COMMIT))
    effects, tx = run(tx, Ack("books"), Ack("books"))
    assert effects == [] and tx.phase is Phase.COMMITTING


def test_rule_presumed_abort_when_recovery_finds_no_decision() -> None:
    effects, tx = step(new_transaction("o1", PARTS), Resume(ORDER, None))
    assert effects == [LogDecision(Outcome.ABORT, "coordinator failed before deciding")]
    assert tx.phase is Phase.DECIDING


def test_rule_recovery_resends_a_logged_decision_without_logging_it_again() -> None:
    effects, tx = step(new_transaction("o1", PARTS), Resume(ORDER, Outcome.COMMIT, ""))
    assert effects == [SendCommit("books"), SendCommit("payment")] and tx.phase is Phase.COMMITTING


@pytest.mark.parametrize("late", [Vote("payment", True), Vote("books", False, "x"), PrepareTimeout()])
def test_rule_late_votes_and_timers_after_the_decision_change_nothing(late: object) -> None:
    _, tx = run(preparing(), Vote("payment", False, "declined"))
    for after in (tx, run(tx, DecisionDurable(Outcome.ABORT, "declined"))[1]):
        effects, same = step(after, late)  # type: ignore[arg-type]
        assert len(effects) == 1 and isinstance(effects[0], Dropped) and same == after


def test_rule_votes_from_strangers_are_dropped() -> None:
    effects, tx = step(preparing(), Vote("mallory", True))
    assert isinstance(effects[0], Dropped) and tx.votes == frozenset()


@pytest.mark.parametrize(
    "phase_inputs, bad",
    [
        ((), BeginDurable()),
        ((), DecisionDurable(Outcome.COMMIT)),
        ((Begin(ORDER),), Begin(ORDER)),
        ((Begin(ORDER), BeginDurable()), DecisionDurable(Outcome.COMMIT)),
        ((Begin(ORDER), BeginDurable()), BeginDurable()),
    ],
)
def test_misuse_an_input_illegal_in_its_phase_raises(phase_inputs: tuple[object, ...], bad: object) -> None:
    _, tx = run(new_transaction("o1", PARTS), *phase_inputs)
    with pytest.raises(IllegalInput):
        step(tx, bad)  # type: ignore[arg-type]


def test_misuse_another_orders_summary_raises() -> None:
    with pytest.raises(ValueError):
        step(new_transaction("o2", PARTS), Begin(ORDER))


def test_no_path_sends_phase2_before_a_durable_decision() -> None:
    """Exhaustive over short input sequences: a SendCommit/SendAbort is always preceded by DecisionDurable/Resume."""
    inputs: list[object] = [
        Vote("payment", True),
        Vote("books", True),
        Vote("books", False, "no"),
        PrepareTimeout(),
        DecisionDurable(Outcome.COMMIT),
        DecisionDurable(Outcome.ABORT),
        Ack("books"),
        Ack("payment"),
        Phase2Timeout(),
    ]
    frontier = [(preparing(), False)]
    for _ in range(5):
        nxt = []
        for tx, durable in frontier:
            for msg in inputs:
                try:
                    effects, after = step(tx, msg)  # type: ignore[arg-type]
                except IllegalInput:
                    continue
                now_durable = durable or isinstance(msg, DecisionDurable)
                if any(isinstance(e, (SendCommit, SendAbort)) for e in effects):
                    assert now_durable
                if any(isinstance(e, ReportOutcome) for e in effects):
                    assert after.acks == frozenset(after.participants)
                nxt.append((after, now_durable))
        frontier = nxt
    assert frontier
