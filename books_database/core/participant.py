"""The books database as a 2PC participant: Prepare reserves, Commit turns it into a decrement, Abort releases it.

PURE: one total table per transaction in the shared form (utils/twopc/core/participant.py), behind a term fence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from books_database.core.commands import (
    AbortTransaction,
    AdoptIncarnation,
    CommitTransaction,
    Item,
    OperatorCommand,
    PrepareTransaction,
    TransactionCommand,
)
from books_database.core.results import (
    FenceAdopted,
    Reason,
    Refused,
    Result,
    Transaction,
    TransactionEnded,
    TxState,
    Vote,
)
from books_database.core.stock import Stock
from utils.twopc.core.participant import Admission, Fence, ParticipantTable, Rule


class Phase(Enum):
    """A transaction's state here; NONE is a tx id never seen (no record), the others are TxState's."""

    NONE = "NONE"
    PREPARED = "PREPARED"  # items reserved; voted COMMIT; only the decision ends it
    COMMITTED = "COMMITTED"
    ABORTED = "ABORTED"  # the decision was ABORT, or this participant voted ABORT


class Kind(Enum):
    PREPARE = "PREPARE"  # a Prepare whose items can all be reserved
    PREPARE_SHORT = "PREPARE_SHORT"  # a Prepare naming an unknown book or more than is available
    PREPARE_CONFLICTING = "PREPARE_CONFLICTING"  # same tx id, other items than the ones prepared: a peer bug
    COMMIT = "COMMIT"
    ABORT = "ABORT"


class Effect(Enum):
    RESERVE = "reserve"  # reserve every item; vote COMMIT
    RECORD_REFUSAL = "record_refusal"  # vote ABORT and record ABORTED, so a replayed Prepare gets the same vote
    REPLAY_VOTE = "replay_vote"  # a repeated Prepare: the vote already given, nothing changes
    VOTE_ABORT_AGAIN = "vote_abort"  # a Prepare after Abort: refused, nothing is reserved
    CONSUME = "consume"  # the reservation becomes a decrement
    RELEASE = "release"  # the reservation is released
    TOMBSTONE = "tombstone"  # Abort before Prepare: remember it, so a late Prepare is refused
    ACK = "ack"  # already in the asked (or a final) state: report it, change nothing
    REFUSE_UNKNOWN = "refuse_unknown"  # Commit of a transaction never prepared
    REFUSE_OTHER_ITEMS = "refuse_other_items"  # a Prepare of the same tx id with other items
    REFUSE_CONFLICT = "refuse_conflict"  # Commit of an aborted transaction


P, K, E = Phase, Kind, Effect
# docs/design.md §4: (state, message) -> (effect, next state); anything missing is illegal (checked below).
# A participant that voted COMMIT keeps voting COMMIT and never aborts on its own: only the decision ends it.
PARTICIPANT_TABLE: dict[tuple[Phase, Kind], Rule[Effect, Phase]] = {
    (P.NONE, K.PREPARE): Rule(E.RESERVE, P.PREPARED),
    (P.NONE, K.PREPARE_SHORT): Rule(E.RECORD_REFUSAL, P.ABORTED),
    (P.NONE, K.PREPARE_CONFLICTING): Rule(E.REFUSE_OTHER_ITEMS, P.NONE),  # unreachable: nothing to conflict with
    (P.NONE, K.COMMIT): Rule(E.REFUSE_UNKNOWN, P.NONE),
    (P.NONE, K.ABORT): Rule(E.TOMBSTONE, P.ABORTED),  # presumed abort before the Prepare
    (P.PREPARED, K.PREPARE): Rule(E.REPLAY_VOTE, P.PREPARED),
    (P.PREPARED, K.PREPARE_SHORT): Rule(E.REPLAY_VOTE, P.PREPARED),  # short only by its own reservation
    (P.PREPARED, K.PREPARE_CONFLICTING): Rule(E.REFUSE_OTHER_ITEMS, P.PREPARED),
    (P.PREPARED, K.COMMIT): Rule(E.CONSUME, P.COMMITTED),
    (P.PREPARED, K.ABORT): Rule(E.RELEASE, P.ABORTED),
    (P.COMMITTED, K.PREPARE): Rule(E.REPLAY_VOTE, P.COMMITTED),
    (P.COMMITTED, K.PREPARE_SHORT): Rule(E.REPLAY_VOTE, P.COMMITTED),
    (P.COMMITTED, K.PREPARE_CONFLICTING): Rule(E.REFUSE_OTHER_ITEMS, P.COMMITTED),
    (P.COMMITTED, K.COMMIT): Rule(E.ACK, P.COMMITTED),
    (P.COMMITTED, K.ABORT): Rule(E.ACK, P.COMMITTED),  # the decision was COMMIT: ignored
    # An aborted transaction stays aborted: a stale Prepare (from before the abort) is refused again.
    (P.ABORTED, K.PREPARE): Rule(E.VOTE_ABORT_AGAIN, P.ABORTED),
    (P.ABORTED, K.PREPARE_SHORT): Rule(E.VOTE_ABORT_AGAIN, P.ABORTED),
    (P.ABORTED, K.PREPARE_CONFLICTING): Rule(E.VOTE_ABORT_AGAIN, P.ABORTED),
    (P.ABORTED, K.COMMIT): Rule(E.REFUSE_CONFLICT, P.ABORTED),
    (P.ABORTED, K.ABORT): Rule(E.ACK, P.ABORTED),
}
del P, K, E
NO_OPS = frozenset(
    {
        Effect.REPLAY_VOTE,
        Effect.VOTE_ABORT_AGAIN,
        Effect.ACK,
        Effect.REFUSE_UNKNOWN,
        Effect.REFUSE_OTHER_ITEMS,
        Effect.REFUSE_CONFLICT,
    }
)
PARTICIPANT = ParticipantTable(PARTICIPANT_TABLE, tuple(Phase), tuple(Kind), never_seen=Phase.NONE, no_ops=NO_OPS)


@dataclass(frozen=True, slots=True)
class _Input:
    """One classified message, as an effect sees it."""

    command: TransactionCommand
    known: Transaction | None
    shortfall: tuple[Reason, str] | None  # a Prepare's reason to vote ABORT (RECORD_REFUSAL)


def phase_of(known: Transaction | None) -> Phase:
    return Phase(known.state.value) if known else PARTICIPANT.never_seen


def classify(known: Transaction | None, command: TransactionCommand, stock: Stock) -> tuple[Kind, _Input]:
    """The message kind a command is for this transaction (the table's column), with what its effect needs."""
    if isinstance(command, CommitTransaction):
        return Kind.COMMIT, _Input(command, known, None)
    if isinstance(command, AbortTransaction):
        return Kind.ABORT, _Input(command, known, None)
    # Other items only conflict with a vote COMMIT given; an aborted tx (a tombstone has no items) refuses any Prepare.
    if known is not None and known.state is not TxState.ABORTED and command.items != known.items:
        return Kind.PREPARE_CONFLICTING, _Input(command, known, None)
    shortfall = stock.shortfall(command.items)
    return (Kind.PREPARE_SHORT if shortfall else Kind.PREPARE), _Input(command, known, shortfall)


NOTHING_SEEN = Fence()  # a fresh replica: no coordinator term seen yet


class BooksParticipant:
    """Every transaction's record and the coordinator fence. Not thread-safe: the server wraps it."""

    def __init__(self, transactions: Iterable[Transaction] = (), fence: Fence = NOTHING_SEEN) -> None:
        self._transactions: dict[str, Transaction] = {t.tx_id: t for t in transactions}
        # The PREPARED ones, kept beside the full record: the termination loop lists them every 0.5 s, and the full
        # record grows with every order ever seen, so a scan of it would cost more the longer the shop runs.
        self._prepared: dict[str, Transaction] = {
            t.tx_id: t for t in self._transactions.values() if t.state is TxState.PREPARED
        }
        self._fence = fence

    def step(self, command: TransactionCommand, stock: Stock) -> Result:
        # docs/design.md §4 fencing: a deposed coordinator (older executor term) cannot drive a transaction, nor can
        # another executor-group incarnation (the group lost its data: docs/operations.md).
        admission = self._fence.admission(command.coordinator_term, command.incarnation)
        if admission is Admission.INCARNATION_CHANGED:
            return Refused(
                Reason.INCARNATION_CHANGED, self._fence.refusal(command.coordinator_term, command.incarnation)
            )
        if admission is Admission.STALE_TERM:
            return Refused(Reason.STALE_TERM, f"{self._fence.refusal(command.coordinator_term)}, the newest seen")
        self._fence = self._fence.seen(command.coordinator_term, command.incarnation)
        return self._apply(command, stock)

    def operate(self, command: OperatorCommand, stock: Stock) -> Result:
        """The operator's commands (docs/operations.md), outside the fence: they are how a fence is moved."""
        if isinstance(command, AdoptIncarnation):
            before = self._fence
            self._fence = before.adopt(command.incarnation, command.coordinator_term)
            return FenceAdopted((before.incarnation, before.newest), (self._fence.incarnation, self._fence.newest))
        known = self._transactions.get(command.tx_id)
        term = known.coordinator_term if known else 0  # a resolution keeps the term that last moved it
        decision: TransactionCommand = (
            CommitTransaction(command.tx_id, term) if command.commit else AbortTransaction(command.tx_id, term)
        )
        return self._apply(decision, stock)

    def _apply(self, command: TransactionCommand, stock: Stock) -> Result:
        known = self._transactions.get(command.tx_id)
        kind, message = classify(known, command, stock)
        rule = PARTICIPANT.rule(phase_of(known), kind)
        result, record = _EFFECTS[rule.effect](message, stock)
        PARTICIPANT.check_applied(rule, phase_of(known), phase_of(record) if record else None)
        if record is not None:
            assert record.tx_id == command.tx_id
            self._transactions[record.tx_id] = record
            if record.state is TxState.PREPARED:
                self._prepared[record.tx_id] = record
            else:
                self._prepared.pop(record.tx_id, None)
        return result

    def transaction(self, tx_id: str) -> Transaction | None:
        return self._transactions.get(tx_id)

    @property
    def highest_coordinator_term(self) -> int:
        return self._fence.newest

    @property
    def fence(self) -> Fence:
        return self._fence

    def in_doubt(self) -> tuple[Transaction, ...]:
        """The PREPARED transactions, waiting for a decision (ordered by id: every replica lists the same)."""
        return tuple(sorted(self._prepared.values(), key=_tx_key))

    def reserved_by_book(self) -> dict[str, int]:
        """What the prepared transactions hold: the stock's reserved counts must equal it."""
        reserved: dict[str, int] = {}
        for tx in self._prepared.values():
            for item in tx.items:
                reserved[item.book_id] = reserved.get(item.book_id, 0) + item.quantity
        return reserved

    # ---- snapshot encoding (the "transactions", "highest_coordinator_term" and "incarnation" fields) -----

    def to_json(self) -> dict[str, Any]:
        return {
            "transactions": [
                [
                    t.tx_id,
                    t.state.value,
                    [[i.book_id, i.quantity] for i in t.items],
                    t.coordinator_term,
                    t.reason.value if t.reason else None,
                ]
                for t in self._transactions.values()
            ],
            "highest_coordinator_term": self._fence.newest,
            "incarnation": self._fence.incarnation,
        }

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> BooksParticipant:
        return cls(
            (
                Transaction(
                    t[0], TxState(t[1]), tuple(Item(b, q) for b, q in t[2]), t[3], Reason(t[4]) if t[4] else None
                )
                for t in body["transactions"]
            ),
            # A snapshot from before incarnations has none: the first one seen is adopted.
            Fence(body["highest_coordinator_term"], str(body.get("incarnation", ""))),
        )


def _tx_key(tx: Transaction) -> str:
    return tx.tx_id


# ---- the effects: each returns the reply and the record to write (None: the record is unchanged) -------

_Applied = tuple[Result, Transaction | None]


def _reserve(m: _Input, stock: Stock) -> _Applied:
    assert isinstance(m.command, PrepareTransaction)
    stock.reserve(m.command.items)
    c = m.command
    return Vote(c.tx_id, True, TxState.PREPARED, c.items), Transaction(
        c.tx_id, TxState.PREPARED, c.items, c.coordinator_term
    )


def _record_refusal(m: _Input, _stock: Stock) -> _Applied:
    # Recorded, so the same Prepare replayed gets the same vote and the tx can never be prepared later.
    assert isinstance(m.command, PrepareTransaction) and m.shortfall is not None
    c, (reason, detail) = m.command, m.shortfall
    return (
        Vote(c.tx_id, False, TxState.ABORTED, reason=reason, detail=detail),
        Transaction(c.tx_id, TxState.ABORTED, c.items, c.coordinator_term, reason),
    )


def _replay_vote(m: _Input, _stock: Stock) -> _Applied:
    assert m.known is not None
    return Vote(m.known.tx_id, True, m.known.state, m.known.items), None


def _vote_abort_again(m: _Input, _stock: Stock) -> _Applied:
    assert m.known is not None
    reason = m.known.reason or Reason.ALREADY_ABORTED
    return Vote(m.known.tx_id, False, TxState.ABORTED, reason=reason, detail=f"{m.known.tx_id} is aborted"), None


def _consume(m: _Input, stock: Stock) -> _Applied:
    assert m.known is not None
    stock.consume(m.known.items)
    return _end(m, TxState.COMMITTED)


def _release(m: _Input, stock: Stock) -> _Applied:
    assert m.known is not None
    stock.release(m.known.items)
    return _end(m, TxState.ABORTED)


def _end(m: _Input, state: TxState) -> _Applied:
    assert m.known is not None
    return (
        TransactionEnded(m.known.tx_id, state),
        replace(m.known, state=state, coordinator_term=m.command.coordinator_term),
    )


def _tombstone(m: _Input, _stock: Stock) -> _Applied:
    c = m.command
    return TransactionEnded(c.tx_id, TxState.ABORTED), Transaction(c.tx_id, TxState.ABORTED, (), c.coordinator_term)


def _ack(m: _Input, _stock: Stock) -> _Applied:
    assert m.known is not None
    return TransactionEnded(m.known.tx_id, m.known.state), None


def _refuse_unknown(m: _Input, _stock: Stock) -> _Applied:
    return Refused(Reason.UNKNOWN_TRANSACTION, f"{m.command.tx_id} was never prepared here"), None


def _refuse_other_items(m: _Input, _stock: Stock) -> _Applied:
    return Refused(Reason.CONFLICT, f"{m.command.tx_id} was prepared with other items"), None


def _refuse_conflict(m: _Input, _stock: Stock) -> _Applied:
    return Refused(Reason.CONFLICT, f"{m.command.tx_id} is aborted; it cannot commit"), None


_EFFECTS: dict[Effect, Callable[[_Input, Stock], _Applied]] = {
    Effect.RESERVE: _reserve,
    Effect.RECORD_REFUSAL: _record_refusal,
    Effect.REPLAY_VOTE: _replay_vote,
    Effect.VOTE_ABORT_AGAIN: _vote_abort_again,
    Effect.CONSUME: _consume,
    Effect.RELEASE: _release,
    Effect.TOMBSTONE: _tombstone,
    Effect.ACK: _ack,
    Effect.REFUSE_UNKNOWN: _refuse_unknown,
    Effect.REFUSE_OTHER_ITEMS: _refuse_other_items,
    Effect.REFUSE_CONFLICT: _refuse_conflict,
}
assert set(_EFFECTS) == set(Effect), "every effect has its code"
