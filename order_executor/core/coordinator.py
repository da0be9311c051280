"""The 2PC coordinator of one transaction as a table of (phase, input) → (effects, next phase).

Pure: the worker feeds it inputs (votes, timeouts, "the log made it durable") and carries out the effects it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum

from order_executor.core.order import OrderSummary, Outcome


class Phase(Enum):
    NEW = "NEW"
    BEGINNING = "BEGINNING"  # BEGIN proposed to the group's log, not yet durable
    PREPARING = "PREPARING"  # Prepare sent; waiting for every vote
    DECIDING = "DECIDING"  # decision proposed to the log, not yet durable: nothing sent yet
    COMMITTING = "COMMITTING"  # decision COMMIT durable; Commit sent until every participant acks
    ABORTING = "ABORTING"  # decision ABORT durable; Abort sent until every participant acks
    DONE = "DONE"  # every participant acked: END handed to the batch (not awaited), outcome reported


# ---- inputs -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Begin:
    order: OrderSummary


@dataclass(frozen=True, slots=True)
class BeginDurable:
    pass


@dataclass(frozen=True, slots=True)
class Resume:
    """Recovery: the log holds BEGIN (and maybe a decision) from an earlier leader or lease."""

    order: OrderSummary
    decision: Outcome | None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Vote:
    participant: str
    commit: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class PrepareTimeout:
    pass


@dataclass(frozen=True, slots=True)
class DecisionDurable:
    """The decision the log holds for this tx: the first one logged wins, so it may differ from the one proposed."""

    outcome: Outcome
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Ack:
    participant: str


@dataclass(frozen=True, slots=True)
class Phase2Timeout:
    pass


Input = Begin | BeginDurable | Resume | Vote | PrepareTimeout | DecisionDurable | Ack | Phase2Timeout


# ---- effects ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LogBegin:
    order: OrderSummary


@dataclass(frozen=True, slots=True)
class SendPrepare:
    participant: str


@dataclass(frozen=True, slots=True)
class LogDecision:
    outcome: Outcome
    reason: str


@dataclass(frozen=True, slots=True)
class SendCommit:
    participant: str


@dataclass(frozen=True, slots=True)
class SendAbort:
    participant: str


@dataclass(frozen=True, slots=True)
class LogEnd:
    """Hand the END to the batch of ENDs: it reaches the log with a later entry, or is lost with the leadership.

    Not awaited: END only lets a new leader skip a finished transaction; without it the logged decision is sent
    again, which every participant acknowledges without a change. Legal only once every participant acked."""


@dataclass(frozen=True, slots=True)
class ReportOutcome:
    outcome: Outcome
    reason: str
    total_cents: int


@dataclass(frozen=True, slots=True)
class Dropped:
    """A late or unexpected peer message: no change; the worker logs and counts it."""

    reason: str


Effect = LogBegin | SendPrepare | LogDecision | SendCommit | SendAbort | LogEnd | ReportOutcome | Dropped


# ---- state --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Transaction:
    tx_id: str
    participants: tuple[str, ...]  # sorted, so effects come out in a fixed order
    phase: Phase = Phase.NEW
    order: OrderSummary | None = None
    votes: frozenset[str] = frozenset()  # participants that voted COMMIT
    acks: frozenset[str] = frozenset()  # participants that acknowledged phase 2
    outcome: Outcome | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        if not self.participants or list(self.participants) != sorted(set(self.participants)):
            raise ValueError("participants must be a non-empty sorted tuple without duplicates")


def new_transaction(tx_id: str, participants: list[str] | tuple[str, ...]) -> Transaction:
    return Transaction(tx_id, tuple(sorted(set(participants))))


Step = tuple[list[Effect], Transaction]
Handler = Callable[[Transaction, Input], Step]


def _begin(tx: Transaction, msg: Input) -> Step:
    assert isinstance(msg, Begin)
    if msg.order.order_id != tx.tx_id:
        raise ValueError(f"order {msg.order.order_id} given to transaction {tx.tx_id}")
    return [LogBegin(msg.order)], replace(tx, phase=Phase.BEGINNING, order=msg.order)


def _begin_durable(tx: Transaction, msg: Input) -> Step:
    return [SendPrepare(p) for p in tx.participants], replace(tx, phase=Phase.PREPARING)


def _resume(tx: Transaction, msg: Input) -> Step:
    assert isinstance(msg, Resume)
    if msg.order.order_id != tx.tx_id:
        raise ValueError(f"order {msg.order.order_id} given to transaction {tx.tx_id}")
    resumed = replace(tx, order=msg.order)
    if msg.decision is None:
        # Presumed abort: no decision was logged, so nobody can have been told COMMIT.
        return _decide(resumed, Outcome.ABORT, msg.reason or "coordinator failed before deciding")
    return _start_phase2(resumed, msg.decision, msg.reason)


def _vote(tx: Transaction, msg: Input) -> Step:
    assert isinstance(msg, Vote)
    if msg.participant not in tx.participants:
        return [Dropped(f"vote from unknown participant {msg.participant}")], tx
    if not msg.commit:
        return _decide(tx, Outcome.ABORT, msg.reason or f"{msg.participant} voted abort")
    votes = tx.votes | {msg.participant}
    if votes == frozenset(tx.participants):
        return _decide(replace(tx, votes=votes), Outcome.COMMIT, "")
    return [], replace(tx, votes=votes)


def _prepare_timeout(tx: Transaction, msg: Input) -> Step:
    silent = [p for p in tx.participants if p not in tx.votes]
    assert silent, "every vote is in, so the decision was already made"
    return _decide(tx, Outcome.ABORT, f"{silent[0]} did not answer prepare in time")


def _decide(tx: Transaction, outcome: Outcome, reason: str) -> Step:
    # docs/design.md §10 rule 3: the decision is only logged here; phase 2 starts on DecisionDurable.
    return [LogDecision(outcome, reason)], replace(tx, phase=Phase.DECIDING)


def _decision_durable(tx: Transaction, msg: Input) -> Step:
    assert isinstance(msg, DecisionDurable)
    return _start_phase2(tx, msg.outcome, msg.reason)


def _start_phase2(tx: Transaction, outcome: Outcome, reason: str) -> Step:
    phase = Phase.COMMITTING if outcome is Outcome.COMMIT else Phase.ABORTING
    sent = replace(tx, phase=phase, outcome=outcome, reason=reason, acks=frozenset())
    return _send_decision(sent, tx.participants), sent


def _send_decision(tx: Transaction, participants: tuple[str, ...] | list[str]) -> list[Effect]:
    send = SendCommit if tx.outcome is Outcome.COMMIT else SendAbort
    return [send(p) for p in participants]


def _ack(tx: Transaction, msg: Input) -> Step:
    assert isinstance(msg, Ack)
    if msg.participant not in tx.participants:
        return [Dropped(f"ack from unknown participant {msg.participant}")], tx
    acks = tx.acks | {msg.participant}
    if acks == frozenset(tx.participants):
        assert tx.outcome is not None and tx.order is not None
        done = replace(tx, acks=acks, phase=Phase.DONE)
        return [LogEnd(), ReportOutcome(tx.outcome, tx.reason, tx.order.total_cents)], done
    return [], replace(tx, acks=acks)


def _phase2_timeout(tx: Transaction, msg: Input) -> Step:
    # Phase 2 never gives up: resend to whoever has not acknowledged yet.
    return _send_decision(tx, [p for p in tx.participants if p not in tx.acks]), tx


def _late(what: str) -> Handler:
    def drop(tx: Transaction, msg: Input) -> Step:
        return [Dropped(f"{what} in phase {tx.phase.value}")], tx

    return drop


P = Phase
_LATE_VOTE, _LATE_ACK, _LATE_TIMER = _late("late vote"), _late("late ack"), _late("late timer")
# Rows for peer messages (Vote, Ack) and timers cover every phase where they can arrive late; the worker's own
# inputs (Begin, BeginDurable, Resume, DecisionDurable) are legal only where listed.
TABLE: dict[tuple[Phase, type], Handler] = {
    (P.NEW, Begin): _begin,
    (P.NEW, Resume): _resume,
    (P.BEGINNING, BeginDurable): _begin_durable,
    (P.PREPARING, Vote): _vote,
    (P.PREPARING, PrepareTimeout): _prepare_timeout,
    (P.PREPARING, Ack): _late("ack before the decision"),
    (P.DECIDING, DecisionDurable): _decision_durable,
    (P.DECIDING, Vote): _LATE_VOTE,
    (P.DECIDING, PrepareTimeout): _LATE_TIMER,
    (P.DECIDING, Ack): _late("ack before the decision is durable"),
    (P.COMMITTING, Ack): _ack,
    (P.ABORTING, Ack): _ack,
    (P.COMMITTING, Phase2Timeout): _phase2_timeout,
    (P.ABORTING, Phase2Timeout): _phase2_timeout,
    **{(p, Vote): _LATE_VOTE for p in (P.COMMITTING, P.ABORTING, P.DONE)},
    **{(p, PrepareTimeout): _LATE_TIMER for p in (P.COMMITTING, P.ABORTING, P.DONE)},
    (P.DONE, Ack): _LATE_ACK,
    (P.DONE, Phase2Timeout): _LATE_TIMER,
}
del P


class IllegalInput(ValueError):
    """The worker fed an input that is not legal in this phase: a bug in the caller."""


def step(tx: Transaction, msg: Input) -> Step:
    """One input → the effects to carry out, in order, and the next state."""
    handler = TABLE.get((tx.phase, type(msg)))
    if handler is None:
        raise IllegalInput(f"{type(msg).__name__} is not legal in phase {tx.phase.value} (tx {tx.tx_id})")
    effects, after = handler(tx, msg)
    if any(isinstance(e, (SendCommit, SendAbort)) for e in effects):
        # Phase 2 only after the decision is durable (or was found durable in the log by recovery).
        assert after.outcome is not None and after.phase in (Phase.COMMITTING, Phase.ABORTING)
    if any(isinstance(e, ReportOutcome) for e in effects):
        assert after.acks == frozenset(after.participants), "an outcome is reported only once every participant acked"
    if any(isinstance(e, LogEnd) for e in effects):
        # An END before every ack would let a new leader skip a participant that never heard the decision.
        assert after.phase is Phase.DONE and after.acks == frozenset(after.participants), "END before every ack"
    return effects, after
