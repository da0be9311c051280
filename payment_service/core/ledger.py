"""The payment participant's 2PC rules: one table of (state, input) → (effect, reply, next state) per transaction.

Pure: the service loads a record and the newest coordinator term, calls `step`, persists what it says, then replies.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from utils.twopc.core.participant import Admission, Fence, ParticipantTable

DECLINED_TEST_CARD = "4000000000000002"  # the well-known "card declined" test number


class PaymentState(Enum):
    NONE = "NONE"  # no record: never prepared, never aborted
    PREPARED = "PREPARED"  # amount held; voted COMMIT; only the decision ends it
    CAPTURED = "CAPTURED"  # decision COMMIT applied
    VOIDED = "VOIDED"  # decision ABORT applied, or this participant voted ABORT


class InputKind(Enum):
    PREPARE = "PREPARE"  # a Prepare this participant can accept
    PREPARE_DECLINED = "PREPARE_DECLINED"  # a Prepare this participant must vote ABORT on
    PREPARE_CONFLICTING = "PREPARE_CONFLICTING"  # same tx, different amount or card: a peer bug
    COMMIT = "COMMIT"
    ABORT = "ABORT"


class Effect(Enum):
    HOLD = "HOLD"  # authorise: persist PREPARED before voting COMMIT (2PC)
    RECORD_REFUSAL = "RECORD_REFUSAL"  # persist the ABORT vote, so a retried Prepare gets the same answer
    CAPTURE = "CAPTURE"
    VOID = "VOID"
    RECORD_ABORT = "RECORD_ABORT"  # Abort before any Prepare: remember it, so a late Prepare votes ABORT
    NOTHING = "NOTHING"  # a duplicate or late message: no change, logged
    REFUSE = "REFUSE"  # an illegal message (e.g. Commit after Abort): no change, logged


class Reply(Enum):
    VOTE_COMMIT = "VOTE_COMMIT"
    VOTE_ABORT = "VOTE_ABORT"
    ACK = "ACK"
    REFUSED = "REFUSED"  # illegal for this transaction's state (FAILED_PRECONDITION)
    STALE_TERM = "STALE_TERM"  # fenced: the coordinator's term is older than one already seen
    INCARNATION_CHANGED = "INCARNATION_CHANGED"  # fenced: another executor-group incarnation than the adopted one


@dataclass(frozen=True, slots=True)
class Rule:
    effect: Effect
    reply: Reply
    next_state: PaymentState
    event: str  # the fixed log event name for this row


S, I, E, R = PaymentState, InputKind, Effect, Reply  # noqa: E741  (the table's shorthand, one letter per column)
# Every (state, input) pair has a row; a missing one is a bug (checked by PARTICIPANT below and by the table tests).
TABLE: dict[tuple[PaymentState, InputKind], Rule] = {
    (S.NONE, I.PREPARE): Rule(E.HOLD, R.VOTE_COMMIT, S.PREPARED, "held"),
    (S.NONE, I.PREPARE_DECLINED): Rule(E.RECORD_REFUSAL, R.VOTE_ABORT, S.VOIDED, "declined"),
    (S.NONE, I.PREPARE_CONFLICTING): Rule(E.REFUSE, R.REFUSED, S.NONE, "conflicting_prepare"),
    (S.NONE, I.COMMIT): Rule(E.REFUSE, R.REFUSED, S.NONE, "commit_without_prepare"),
    (S.NONE, I.ABORT): Rule(E.RECORD_ABORT, R.ACK, S.VOIDED, "aborted_before_prepare"),
    # A participant that voted COMMIT keeps voting COMMIT: it never changes its mind on its own.
    (S.PREPARED, I.PREPARE): Rule(E.NOTHING, R.VOTE_COMMIT, S.PREPARED, "duplicate_prepare"),
    (S.PREPARED, I.PREPARE_DECLINED): Rule(E.NOTHING, R.VOTE_COMMIT, S.PREPARED, "duplicate_prepare"),
    (S.PREPARED, I.PREPARE_CONFLICTING): Rule(E.REFUSE, R.REFUSED, S.PREPARED, "conflicting_prepare"),
    (S.PREPARED, I.COMMIT): Rule(E.CAPTURE, R.ACK, S.CAPTURED, "captured"),
    (S.PREPARED, I.ABORT): Rule(E.VOID, R.ACK, S.VOIDED, "voided"),
    (S.CAPTURED, I.PREPARE): Rule(E.NOTHING, R.VOTE_COMMIT, S.CAPTURED, "late_prepare_after_commit"),
    (S.CAPTURED, I.PREPARE_DECLINED): Rule(E.NOTHING, R.VOTE_COMMIT, S.CAPTURED, "late_prepare_after_commit"),
    (S.CAPTURED, I.PREPARE_CONFLICTING): Rule(E.REFUSE, R.REFUSED, S.CAPTURED, "conflicting_prepare"),
    (S.CAPTURED, I.COMMIT): Rule(E.NOTHING, R.ACK, S.CAPTURED, "duplicate_commit"),
    (S.CAPTURED, I.ABORT): Rule(E.REFUSE, R.REFUSED, S.CAPTURED, "abort_after_commit"),
    # An aborted transaction stays aborted: a stale Prepare (from before the abort) gets ABORT again.
    (S.VOIDED, I.PREPARE): Rule(E.NOTHING, R.VOTE_ABORT, S.VOIDED, "stale_prepare_after_abort"),
    (S.VOIDED, I.PREPARE_DECLINED): Rule(E.NOTHING, R.VOTE_ABORT, S.VOIDED, "stale_prepare_after_abort"),
    (S.VOIDED, I.PREPARE_CONFLICTING): Rule(E.NOTHING, R.VOTE_ABORT, S.VOIDED, "stale_prepare_after_abort"),
    (S.VOIDED, I.COMMIT): Rule(E.REFUSE, R.REFUSED, S.VOIDED, "commit_after_abort"),
    (S.VOIDED, I.ABORT): Rule(E.NOTHING, R.ACK, S.VOIDED, "duplicate_abort"),
}
del S, I, E, R
# The shared participant form (utils/twopc): total, no-op rows keep the state, a repeated message is a no-op.
PARTICIPANT = ParticipantTable(
    TABLE,
    tuple(PaymentState),
    tuple(InputKind),
    never_seen=PaymentState.NONE,
    no_ops=frozenset({Effect.NOTHING, Effect.REFUSE}),
)


@dataclass(frozen=True, slots=True)
class CardFacts:
    """What the service knows about a token: never the number or the CVV."""

    token: str
    card_last4: str
    declined: bool  # the declined test card
    # docs/operations.md "payment tokens": a token serves one order, for at most what checkout authorised.
    order_id: str = ""  # the order it was issued for ("" only for a token made before tokens were bound)
    amount_cents_max: int = 0  # the most it may hold (0: not bound, a token from before)
    used_by: str = ""  # another transaction that holds or captured with this token ("" when none)


@dataclass(frozen=True, slots=True)
class Limits:
    amount_cents_max: int = 1_000_000  # 10 000.00: above this, Prepare votes ABORT


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    tx_id: str
    state: PaymentState
    amount_cents: int = 0
    token: str = ""
    card_last4: str = ""
    reason: str = ""
    term: int = 0  # the coordinator term of the call that last changed it


@dataclass(frozen=True, slots=True)
class Prepare:
    tx_id: str
    amount_cents: int
    term: int
    card: CardFacts | None  # None: the token is unknown here
    injected_decline: bool = False  # fault injection (PAYMENT_DECLINE_PERCENT), decided by the caller
    incarnation: str = ""  # the executor group's incarnation (utils/twopc/core/participant.py Fence)


@dataclass(frozen=True, slots=True)
class Commit:
    tx_id: str
    term: int
    incarnation: str = ""


@dataclass(frozen=True, slots=True)
class Abort:
    tx_id: str
    term: int
    incarnation: str = ""


Message = Prepare | Commit | Abort


@dataclass(frozen=True, slots=True)
class Outcome:
    reply: Reply
    reason: str
    state: PaymentState  # the transaction's state after the step
    event: str  # fixed-shape log event
    persist: PaymentRecord | None  # write this (durably) before replying; None: the record is unchanged
    term_seen: int  # the newest coordinator term after this step (persist when it grew)
    fence: Fence = Fence()  # the fence after this step (persist when it changed: a first incarnation adopted)


def decline_reason(message: Prepare, limits: Limits) -> str:
    """Why this participant must vote ABORT on a fresh Prepare; empty when it can hold the amount."""
    if message.card is None:
        return "unknown payment token"
    if message.amount_cents <= 0:
        return "invalid amount"
    card = message.card
    if card.order_id and card.order_id != message.tx_id:
        return "the payment token was issued for another order"
    if card.used_by:
        return "the payment token was already used by another order"
    if card.amount_cents_max and message.amount_cents > card.amount_cents_max:
        return f"amount above the {card.amount_cents_max / 100:.2f} authorised at checkout"
    if message.card.declined:
        return "card declined"
    if message.amount_cents > limits.amount_cents_max:
        return f"amount over the limit of {limits.amount_cents_max / 100:.2f}"
    if message.injected_decline:
        return "card declined (injected)"
    return ""


def classify(record: PaymentRecord, message: Message, limits: Limits) -> tuple[InputKind, str]:
    if isinstance(message, Commit):
        return InputKind.COMMIT, ""
    if isinstance(message, Abort):
        return InputKind.ABORT, ""
    if record.state in (PaymentState.PREPARED, PaymentState.CAPTURED) and (
        message.amount_cents != record.amount_cents or message.card is None or message.card.token != record.token
    ):
        return InputKind.PREPARE_CONFLICTING, "a different amount or card for the same transaction"
    reason = decline_reason(message, limits)
    return (InputKind.PREPARE_DECLINED, reason) if reason else (InputKind.PREPARE, "")


def step(record: PaymentRecord | None, fence: Fence | int, message: Message, limits: Limits = Limits()) -> Outcome:
    """One message for one transaction: fence by incarnation and term, then look the row up in TABLE.

    `fence` is the participant's (an int: the newest term, no incarnation adopted yet).
    """
    current = record or PaymentRecord(message.tx_id, PARTICIPANT.never_seen)
    if record is not None and record.tx_id != message.tx_id:
        raise ValueError(f"record {record.tx_id!r} given for message about {message.tx_id!r}")
    fence = fence if isinstance(fence, Fence) else Fence(fence)
    admission = fence.admission(message.term, message.incarnation)
    if admission is not Admission.ADMIT:
        reply, event = (
            (Reply.STALE_TERM, "stale_term")
            if admission is Admission.STALE_TERM
            else (Reply.INCARNATION_CHANGED, "incarnation_changed")
        )
        refusal = fence.refusal(message.term, message.incarnation)
        return Outcome(reply, refusal, current.state, event, None, fence.newest, fence)
    kind, reason = classify(current, message, limits)
    rule = PARTICIPANT.rule(current.state, kind)
    persist = _record_after(current, message, rule, reason)
    # A row with an effect writes the record (persisted before the reply, docs/design.md §4); a no-op writes none.
    PARTICIPANT.check_applied(rule, current.state, persist.state if persist else None)
    if persist is None:
        reason = _explain(rule, current)
    after = fence.seen(message.term, message.incarnation)
    return Outcome(rule.reply, reason, rule.next_state, rule.event, persist, after.newest, after)


def resolve(record: PaymentRecord | None, fence: Fence, tx_id: str, commit: bool) -> Outcome:
    """An operator's resolution of an in-doubt transaction (docs/operations.md), outside any coordinator's fence:
    the table's own Commit or Abort row, so a resolution does exactly what the decision would have done. The
    fence is left as it is (adopting an incarnation is a separate step)."""
    message: Message = Commit(tx_id, 0) if commit else Abort(tx_id, 0)
    current = record or PaymentRecord(tx_id, PARTICIPANT.never_seen)
    outcome = step(record, Fence(0, ""), message)
    # The record keeps the term of the coordinator that last moved it: an operator has no term.
    persist = replace(outcome.persist, term=current.term) if outcome.persist is not None else None
    return replace(outcome, persist=persist, fence=fence, term_seen=fence.newest)


def _record_after(current: PaymentRecord, message: Message, rule: Rule, reason: str) -> PaymentRecord | None:
    if rule.effect is Effect.HOLD or rule.effect is Effect.RECORD_REFUSAL:
        assert isinstance(message, Prepare)
        card = message.card
        return PaymentRecord(
            message.tx_id,
            rule.next_state,
            message.amount_cents,
            card.token if card else "",
            card.card_last4 if card else "",
            reason,
            message.term,
        )
    if rule.effect in (Effect.CAPTURE, Effect.VOID, Effect.RECORD_ABORT):
        why = {Effect.CAPTURE: "", Effect.VOID: "transaction aborted", Effect.RECORD_ABORT: "aborted before prepare"}[
            rule.effect
        ]
        return replace(current, state=rule.next_state, reason=why, term=message.term)
    return None


def _explain(rule: Rule, current: PaymentRecord) -> str:
    """The reply's reason for a row that changes nothing: say what the transaction already is."""
    if rule.reply is Reply.VOTE_ABORT:
        return current.reason or "transaction already aborted"
    if rule.reply is Reply.REFUSED:
        return f"{rule.event.replace('_', ' ')}: transaction is {current.state.value}"
    return ""
