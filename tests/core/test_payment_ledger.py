"""Table tests of the payment participant: each row of the 2PC rules, fencing by term, idempotency.

Each test names the rule it checks (docs/design.md §4: participants persist PREPARED before voting; only the
decision ends it).
"""

from __future__ import annotations

import pytest

from payment_service.core.ledger import (
    TABLE,
    Abort,
    CardFacts,
    Commit,
    Effect,
    InputKind,
    Limits,
    PaymentRecord,
    PaymentState,
    Prepare,
    Reply,
    step,
)

CARD = CardFacts(token="tok_a", card_last4="1111", declined=False)
DECLINED = CardFacts(token="tok_d", card_last4="0002", declined=True)


def prepared(amount_cents: int = 4999, term: int = 1) -> PaymentRecord:
    return PaymentRecord("tx1", PaymentState.PREPARED, amount_cents, CARD.token, CARD.card_last4, "", term)


def test_table_is_total() -> None:
    assert {(s, i) for s in PaymentState for i in InputKind} == set(TABLE)


def test_rule_prepare_holds_and_persists_before_voting_commit() -> None:
    out = step(None, 0, Prepare("tx1", 4999, 3, CARD))
    assert out.reply is Reply.VOTE_COMMIT
    assert out.persist == PaymentRecord("tx1", PaymentState.PREPARED, 4999, "tok_a", "1111", "", 3)
    assert out.term_seen == 3


@pytest.mark.parametrize(
    "message, reason",
    [
        (Prepare("tx1", 4999, 1, DECLINED), "card declined"),
        (Prepare("tx1", 2_000_000, 1, CARD), "amount over the limit of 10000.00"),
        (Prepare("tx1", 4999, 1, None), "unknown payment token"),
        (Prepare("tx1", 0, 1, CARD), "invalid amount"),
        (Prepare("tx1", 4999, 1, CARD, injected_decline=True), "card declined (injected)"),
    ],
)
def test_rule_a_declined_prepare_votes_abort_with_reason_and_remembers_it(message: Prepare, reason: str) -> None:
    out = step(None, 0, message)
    assert (out.reply, out.reason) == (Reply.VOTE_ABORT, reason)
    assert out.persist is not None and out.persist.state is PaymentState.VOIDED and out.persist.reason == reason
    # A retried Prepare gets the same answer, whatever the card now says.
    again = step(out.persist, 1, Prepare("tx1", 4999, 1, CARD))
    assert (again.reply, again.reason, again.persist) == (Reply.VOTE_ABORT, reason, None)


def test_rule_limit_is_configurable() -> None:
    assert step(None, 0, Prepare("tx1", 500, 1, CARD), Limits(amount_cents_max=499)).reply is Reply.VOTE_ABORT
    assert step(None, 0, Prepare("tx1", 499, 1, CARD), Limits(amount_cents_max=499)).reply is Reply.VOTE_COMMIT


def test_rule_duplicate_prepare_votes_commit_again_and_changes_nothing() -> None:
    out = step(prepared(), 1, Prepare("tx1", 4999, 1, CARD, injected_decline=True))
    assert (out.reply, out.persist, out.event) == (Reply.VOTE_COMMIT, None, "duplicate_prepare")


def test_rule_a_prepare_with_another_amount_is_refused_and_keeps_the_hold() -> None:
    out = step(prepared(), 1, Prepare("tx1", 1, 1, CARD))
    assert (out.reply, out.state, out.persist) == (Reply.REFUSED, PaymentState.PREPARED, None)


def test_rule_commit_captures_a_prepared_payment() -> None:
    out = step(prepared(), 1, Commit("tx1", 2))
    assert out.reply is Reply.ACK
    assert out.persist == PaymentRecord("tx1", PaymentState.CAPTURED, 4999, "tok_a", "1111", "", 2)


def test_rule_abort_voids_a_prepared_payment() -> None:
    out = step(prepared(), 1, Abort("tx1", 1))
    assert out.reply is Reply.ACK and out.persist is not None
    assert (out.persist.state, out.persist.amount_cents) == (PaymentState.VOIDED, 4999)


def test_rule_commit_twice_captures_once() -> None:
    first = step(prepared(), 1, Commit("tx1", 1))
    assert first.persist is not None
    second = step(first.persist, 1, Commit("tx1", 1))
    assert (second.reply, second.persist, second.event) == (Reply.ACK, None, "duplicate_commit")


def test_rule_abort_before_prepare_is_remembered_so_a_late_prepare_votes_abort() -> None:
    # Presumed abort: the coordinator gave up on a slow Prepare; the Prepare arrives afterwards.
    tombstone = step(None, 0, Abort("tx1", 1))
    assert tombstone.reply is Reply.ACK and tombstone.persist is not None
    assert tombstone.persist.state is PaymentState.VOIDED
    late = step(tombstone.persist, 1, Prepare("tx1", 4999, 1, CARD))
    assert (late.reply, late.persist, late.event) == (Reply.VOTE_ABORT, None, "stale_prepare_after_abort")


@pytest.mark.parametrize(
    "state, message, event",
    [
        (PaymentState.VOIDED, Commit("tx1", 1), "commit_after_abort"),
        (PaymentState.CAPTURED, Abort("tx1", 1), "abort_after_commit"),
        (PaymentState.NONE, Commit("tx1", 1), "commit_without_prepare"),
    ],
)
def test_rule_a_decision_that_contradicts_the_state_is_refused_and_changes_nothing(
    state: PaymentState, message: Commit | Abort, event: str
) -> None:
    record = None if state is PaymentState.NONE else PaymentRecord("tx1", state, 4999, "tok_a", "1111")
    out = step(record, 1, message)
    assert (out.reply, out.state, out.persist, out.event) == (Reply.REFUSED, state, None, event)


def test_rule_late_prepare_after_commit_votes_commit_and_changes_nothing() -> None:
    captured = PaymentRecord("tx1", PaymentState.CAPTURED, 4999, "tok_a", "1111")
    out = step(captured, 1, Prepare("tx1", 4999, 1, CARD))
    assert (out.reply, out.persist) == (Reply.VOTE_COMMIT, None)


@pytest.mark.parametrize("message", [Prepare("tx1", 4999, 4, CARD), Commit("tx1", 4), Abort("tx1", 4)])
def test_rule_fencing_refuses_an_older_coordinator_term(message: Prepare | Commit | Abort) -> None:
    out = step(prepared(term=5), 5, message)
    assert (out.reply, out.persist, out.term_seen, out.state) == (Reply.STALE_TERM, None, 5, PaymentState.PREPARED)


def test_rule_fencing_accepts_the_same_and_newer_terms_and_remembers_the_newest() -> None:
    assert step(prepared(), 5, Commit("tx1", 5)).reply is Reply.ACK
    newer = step(prepared(), 5, Commit("tx1", 9))
    assert (newer.reply, newer.term_seen) == (Reply.ACK, 9)


def test_only_rows_with_an_effect_change_the_state() -> None:
    for (state, _), rule in TABLE.items():
        if rule.effect in (Effect.NOTHING, Effect.REFUSE):
            assert rule.next_state is state


def test_misuse_a_record_of_another_transaction_raises() -> None:
    with pytest.raises(ValueError):
        step(prepared(), 0, Commit("tx2", 1))
