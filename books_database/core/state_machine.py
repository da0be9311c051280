"""The books database's replicated state: catalog, stock, 2PC reservations and the coordinator fence.

PURE: the Raft runtime applies committed commands here in log order on every replica, so all agree.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from books_database.core.commands import (
    AbortTransaction,
    Command,
    CommandError,
    CommitTransaction,
    DecrementStock,
    IncrementStock,
    Item,
    PrepareTransaction,
    StockCommand,
    TransactionCommand,
    command_to_json,
    decode_command,
)
from books_database.core.results import (
    BookView,
    Reason,
    Refused,
    Result,
    StockChanged,
    Transaction,
    TransactionEnded,
    TxState,
    Vote,
)
from utils.catalog import Catalog

SNAPSHOT_VERSION = 1
REQUESTS_REMEMBERED_MAX = 10_000   # stock writes whose result is kept for replays of the same request id


@dataclass(frozen=True, slots=True)
class _Row:
    """One book and its stock counters. I1: initial_stock + restocked == stock + sold."""

    book: BookView
    initial_stock: int
    restocked: int = 0      # Σ IncrementStock
    sold: int = 0           # Σ DecrementStock + Σ committed quantities


class _Step(Enum):
    PREPARE = "prepare"
    COMMIT = "commit"
    ABORT = "abort"


class _Effect(Enum):
    RESERVE = "reserve"                  # check and reserve every item; vote COMMIT, or vote ABORT and record ABORTED
    REPLAY_VOTE = "replay_vote"          # a repeated Prepare: the vote already given, nothing changes
    VOTE_ABORT_AGAIN = "vote_abort"      # a Prepare after Abort: refused, nothing is reserved
    CONSUME = "consume"                  # the reservation becomes a decrement
    RELEASE = "release"                  # the reservation is released
    TOMBSTONE = "tombstone"              # Abort before Prepare: remember it, so a late Prepare is refused
    ACK = "ack"                          # already in the asked (or a final) state: report it, change nothing
    REFUSE_UNKNOWN = "refuse_unknown"    # Commit of a transaction never prepared
    REFUSE_CONFLICT = "refuse_conflict"  # Commit of an aborted transaction


# The 2PC participant (docs/design.md §4) as a table: (state, step) -> (effect, next state). None = never seen.
# Anything missing is illegal. A participant that voted COMMIT never aborts on its own: only Abort ends it.
PARTICIPANT_TABLE: dict[tuple[TxState | None, _Step], tuple[_Effect, TxState | None]] = {
    (None, _Step.PREPARE): (_Effect.RESERVE, TxState.PREPARED),          # ABORTED when the vote is ABORT
    (TxState.PREPARED, _Step.PREPARE): (_Effect.REPLAY_VOTE, TxState.PREPARED),
    (TxState.COMMITTED, _Step.PREPARE): (_Effect.REPLAY_VOTE, TxState.COMMITTED),
    (TxState.ABORTED, _Step.PREPARE): (_Effect.VOTE_ABORT_AGAIN, TxState.ABORTED),
    (None, _Step.COMMIT): (_Effect.REFUSE_UNKNOWN, None),
    (TxState.PREPARED, _Step.COMMIT): (_Effect.CONSUME, TxState.COMMITTED),
    (TxState.COMMITTED, _Step.COMMIT): (_Effect.ACK, TxState.COMMITTED),
    (TxState.ABORTED, _Step.COMMIT): (_Effect.REFUSE_CONFLICT, TxState.ABORTED),
    (None, _Step.ABORT): (_Effect.TOMBSTONE, TxState.ABORTED),
    (TxState.PREPARED, _Step.ABORT): (_Effect.RELEASE, TxState.ABORTED),
    (TxState.ABORTED, _Step.ABORT): (_Effect.ACK, TxState.ABORTED),
    (TxState.COMMITTED, _Step.ABORT): (_Effect.ACK, TxState.COMMITTED),  # the decision was COMMIT: ignored
}
_STEP_OF: dict[type, _Step] = {
    PrepareTransaction: _Step.PREPARE, CommitTransaction: _Step.COMMIT, AbortTransaction: _Step.ABORT}


class BooksStateMachine:
    """Implements utils.raft.StateMachine. Not thread-safe: the server wraps it (books_database/store.py)."""

    def __init__(self, catalog: Catalog) -> None:
        # The seed is the state before log index 1, identical on every replica: no per-replica writes.
        self._rows: dict[str, _Row] = {
            b.id: _Row(BookView(b.id, b.title, b.author, b.category, str(b.price), b.initial_stock, 0),
                       initial_stock=b.initial_stock)
            for b in catalog.books}
        self._transactions: dict[str, Transaction] = {}
        self._requests: dict[str, tuple[dict[str, Any], StockChanged]] = {}
        self._highest_term = 0
        self._applied_index = 0

    # ---- the Raft StateMachine protocol --------------------------------------------------------

    def apply(self, index: int, command: bytes) -> Result:
        assert index > self._applied_index, f"applied {index} after {self._applied_index}: the log went backwards"
        self._applied_index = index
        try:
            decoded = decode_command(command)
        except CommandError as error:
            # Deterministic on every replica: a version mismatch refuses the entry instead of crashing the group.
            return Refused(Reason.MALFORMED_COMMAND, str(error))
        return self.execute(decoded)

    def snapshot(self) -> bytes:
        return json.dumps({**self._state_json(), "applied_index": self._applied_index},
                          sort_keys=True, separators=(",", ":")).encode()

    def restore(self, data: bytes) -> None:
        body = json.loads(data)
        if body.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"snapshot version {body.get('version')!r}; this code reads {SNAPSHOT_VERSION}")
        self._rows = {
            r[0]: _Row(BookView(r[0], r[1], r[2], r[3], r[4], r[6], 0), initial_stock=r[5], restocked=r[7], sold=r[8])
            for r in body["books"]}
        self._transactions = {
            t[0]: Transaction(t[0], TxState(t[1]), tuple(Item(b, q) for b, q in t[2]), t[3],
                              Reason(t[4]) if t[4] else None)
            for t in body["transactions"]}
        self._requests = {r[0]: (r[1], _stock_result_from_json(r[2])) for r in body["requests"]}
        self._highest_term = body["highest_coordinator_term"]
        self._applied_index = body["applied_index"]
        self._recompute_reserved()
        self.check_invariants()

    # ---- commands ------------------------------------------------------------------------------

    def execute(self, command: Command) -> Result:
        """Applies one decoded command (apply() without the log index; tests drive this directly)."""
        if isinstance(command, (DecrementStock, IncrementStock)):
            return self._change_stock(command)
        return self._step_transaction(command)

    def _change_stock(self, command: StockCommand) -> StockChanged | Refused:
        if command.request_id and command.request_id in self._requests:
            seen_command, seen_result = self._requests[command.request_id]
            if seen_command != command_to_json(command):
                return Refused(Reason.CONFLICT, f"request id {command.request_id!r} was used for another write")
            return seen_result  # Raft §8: a retried write is answered, not applied again
        row = self._rows.get(command.book_id)
        if row is None:
            return Refused(Reason.UNKNOWN_BOOK, f"no book with id {command.book_id!r}")
        if isinstance(command, DecrementStock):
            if row.book.available < command.amount:
                result = StockChanged(row.book.id, False, row.book.stock, row.book.reserved, Reason.INSUFFICIENT_STOCK)
            else:
                row = self._put_row(row, stock_delta=-command.amount, sold=command.amount)
                result = StockChanged(row.book.id, True, row.book.stock, row.book.reserved)
        else:
            row = self._put_row(row, stock_delta=command.amount, restocked=command.amount)
            result = StockChanged(row.book.id, True, row.book.stock, row.book.reserved)
        if command.request_id:
            self._remember(command, result)
        return result

    def _remember(self, command: StockCommand, result: StockChanged) -> None:
        self._requests[command.request_id] = (command_to_json(command), result)
        if len(self._requests) > REQUESTS_REMEMBERED_MAX:
            del self._requests[next(iter(self._requests))]  # the oldest: insertion order is log order

    def _step_transaction(self, command: TransactionCommand) -> Result:
        # docs/design.md §4 fencing: a deposed coordinator (older executor term) cannot drive a transaction.
        if command.coordinator_term < self._highest_term:
            return Refused(Reason.STALE_TERM, f"coordinator term {command.coordinator_term} is older than "
                                              f"{self._highest_term}, the newest seen")
        self._highest_term = command.coordinator_term
        known = self._transactions.get(command.tx_id)
        effect, next_state = PARTICIPANT_TABLE[(known.state if known else None, _STEP_OF[type(command)])]
        handler = self._EFFECTS[effect]
        result = handler(self, command, known)
        after = self._transactions.get(command.tx_id)
        assert (after.state if after else None) == next_state or (
            effect is _Effect.RESERVE and after is not None and after.state is TxState.ABORTED), \
            f"{effect} left {command.tx_id} in {after}, the table says {next_state}"
        return result

    def _reserve(self, command: TransactionCommand, _known: Transaction | None) -> Vote:
        assert isinstance(command, PrepareTransaction)
        for item in command.items:
            row = self._rows.get(item.book_id)
            if row is None:
                return self._vote_abort(command, Reason.UNKNOWN_BOOK, f"no book with id {item.book_id!r}")
            if row.book.available < item.quantity:
                return self._vote_abort(command, Reason.INSUFFICIENT_STOCK,
                                        f"{item.book_id}: {item.quantity} asked, {row.book.available} available")
        for item in command.items:
            self._put_row(self._rows[item.book_id], reserved_delta=item.quantity)
        self._transactions[command.tx_id] = Transaction(command.tx_id, TxState.PREPARED, command.items,
                                                        command.coordinator_term)
        return Vote(command.tx_id, True, TxState.PREPARED, command.items)

    def _vote_abort(self, command: PrepareTransaction, reason: Reason, detail: str) -> Vote:
        # Recorded, so the same Prepare replayed gets the same vote and the tx can never be prepared later.
        self._transactions[command.tx_id] = Transaction(command.tx_id, TxState.ABORTED, command.items,
                                                        command.coordinator_term, reason)
        return Vote(command.tx_id, False, TxState.ABORTED, reason=reason, detail=detail)

    def _replay_vote(self, command: TransactionCommand, known: Transaction | None) -> Result:
        assert isinstance(command, PrepareTransaction) and known is not None
        if command.items != known.items:
            return Refused(Reason.CONFLICT, f"{command.tx_id} was prepared with other items")
        return Vote(command.tx_id, True, known.state, known.items)

    def _vote_abort_again(self, command: TransactionCommand, known: Transaction | None) -> Vote:
        assert known is not None
        reason = known.reason or Reason.ALREADY_ABORTED
        return Vote(command.tx_id, False, TxState.ABORTED, reason=reason, detail=f"{command.tx_id} is aborted")

    def _consume(self, command: TransactionCommand, known: Transaction | None) -> TransactionEnded:
        assert known is not None
        for item in known.items:
            self._put_row(self._rows[item.book_id], reserved_delta=-item.quantity, stock_delta=-item.quantity,
                          sold=item.quantity)
        return self._end(known, TxState.COMMITTED, command.coordinator_term)

    def _release(self, command: TransactionCommand, known: Transaction | None) -> TransactionEnded:
        assert known is not None
        for item in known.items:
            self._put_row(self._rows[item.book_id], reserved_delta=-item.quantity)
        return self._end(known, TxState.ABORTED, command.coordinator_term)

    def _tombstone(self, command: TransactionCommand, _known: Transaction | None) -> TransactionEnded:
        self._transactions[command.tx_id] = Transaction(command.tx_id, TxState.ABORTED, (), command.coordinator_term)
        return TransactionEnded(command.tx_id, TxState.ABORTED)

    def _ack(self, command: TransactionCommand, known: Transaction | None) -> TransactionEnded:
        assert known is not None
        return TransactionEnded(command.tx_id, known.state)

    def _refuse_unknown(self, command: TransactionCommand, _known: Transaction | None) -> Refused:
        return Refused(Reason.UNKNOWN_TRANSACTION, f"{command.tx_id} was never prepared here")

    def _refuse_conflict(self, command: TransactionCommand, _known: Transaction | None) -> Refused:
        return Refused(Reason.CONFLICT, f"{command.tx_id} is aborted; it cannot commit")

    _EFFECTS: dict[_Effect, Callable[[BooksStateMachine, TransactionCommand, Transaction | None], Result]] = {
        _Effect.RESERVE: _reserve, _Effect.REPLAY_VOTE: _replay_vote, _Effect.VOTE_ABORT_AGAIN: _vote_abort_again,
        _Effect.CONSUME: _consume, _Effect.RELEASE: _release, _Effect.TOMBSTONE: _tombstone, _Effect.ACK: _ack,
        _Effect.REFUSE_UNKNOWN: _refuse_unknown, _Effect.REFUSE_CONFLICT: _refuse_conflict,
    }

    def _end(self, known: Transaction, state: TxState, term: int) -> TransactionEnded:
        self._transactions[known.tx_id] = replace(known, state=state, coordinator_term=term)
        return TransactionEnded(known.tx_id, state)

    def _put_row(self, row: _Row, *, stock_delta: int = 0, reserved_delta: int = 0, sold: int = 0,
                 restocked: int = 0) -> _Row:
        book = replace(row.book, stock=row.book.stock + stock_delta, reserved=row.book.reserved + reserved_delta)
        new = replace(row, book=book, sold=row.sold + sold, restocked=row.restocked + restocked)
        # Paired assertions: available never below 0, and I1 conservation, after every change.
        assert 0 <= book.reserved <= book.stock, f"{book.id}: stock {book.stock}, reserved {book.reserved}"
        assert new.initial_stock + new.restocked == book.stock + new.sold, f"{book.id}: conservation broken"
        self._rows[book.id] = new
        return new

    # ---- queries (reads) -------------------------------------------------------------------------

    def book(self, book_id: str) -> BookView | None:
        row = self._rows.get(book_id)
        return row.book if row else None

    def books(self) -> tuple[BookView, ...]:
        return tuple(row.book for row in self._rows.values())

    def transaction(self, tx_id: str) -> Transaction | None:
        return self._transactions.get(tx_id)

    @property
    def highest_coordinator_term(self) -> int:
        return self._highest_term

    @property
    def applied_index(self) -> int:
        return self._applied_index

    def conservation(self, book_id: str) -> tuple[int, int, int, int]:
        """(initial stock, Σ restocks, stock on hand, Σ sold) of one book: I1 says a + b == c + d."""
        row = self._rows[book_id]
        return row.initial_stock, row.restocked, row.book.stock, row.sold

    def state_hash(self) -> str:
        """A digest of the whole replicated state (not the applied index): equal on caught-up replicas."""
        canonical = json.dumps(self._state_json(), sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(canonical).hexdigest()

    def check_invariants(self) -> None:
        reserved = self._reserved_by_book()
        for row in self._rows.values():
            assert row.book.reserved == reserved.get(row.book.id, 0), f"{row.book.id}: reserved count drifted"
            assert 0 <= row.book.reserved <= row.book.stock, f"{row.book.id}: available below 0"
            assert row.initial_stock + row.restocked == row.book.stock + row.sold, f"{row.book.id}: I1 broken"

    # ---- snapshot encoding ---------------------------------------------------------------------

    def _state_json(self) -> dict[str, Any]:
        return {
            "version": SNAPSHOT_VERSION,
            "books": [[r.book.id, r.book.title, r.book.author, r.book.category, r.book.price, r.initial_stock,
                       r.book.stock, r.restocked, r.sold] for r in self._rows.values()],
            "transactions": [[t.tx_id, t.state.value, [[i.book_id, i.quantity] for i in t.items], t.coordinator_term,
                              t.reason.value if t.reason else None] for t in self._transactions.values()],
            "requests": [[request_id, command, _stock_result_to_json(result)]
                         for request_id, (command, result) in self._requests.items()],
            "highest_coordinator_term": self._highest_term,
        }

    def _reserved_by_book(self) -> dict[str, int]:
        reserved: dict[str, int] = {}
        for tx in self._transactions.values():
            if tx.state is TxState.PREPARED:
                for item in tx.items:
                    reserved[item.book_id] = reserved.get(item.book_id, 0) + item.quantity
        return reserved

    def _recompute_reserved(self) -> None:
        reserved = self._reserved_by_book()
        for book_id, row in self._rows.items():
            self._rows[book_id] = replace(row, book=replace(row.book, reserved=reserved.get(book_id, 0)))


def _stock_result_to_json(result: StockChanged) -> list[Any]:
    return [result.book_id, result.ok, result.stock, result.reserved, result.reason.value if result.reason else None]


def _stock_result_from_json(body: list[Any]) -> StockChanged:
    return StockChanged(body[0], body[1], body[2], body[3], Reason(body[4]) if body[4] else None)
