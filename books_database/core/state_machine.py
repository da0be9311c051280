"""The books database's replicated state: the stock (stock.py) and the 2PC participant (participant.py), composed.

PURE: the Raft runtime applies committed commands here in log order on every replica, so all agree.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from books_database.core.commands import (
    AdoptIncarnation,
    Command,
    CommandError,
    DecrementStock,
    IncrementStock,
    ResolveTransaction,
    decode_command,
)
from books_database.core.participant import BooksParticipant
from books_database.core.results import BookView, Reason, Refused, Result, Transaction
from books_database.core.stock import REQUESTS_REMEMBERED_MAX, Stock
from utils.catalog import Catalog
from utils.twopc.core.participant import Fence

__all__ = ["REQUESTS_REMEMBERED_MAX", "SNAPSHOT_VERSION", "BooksStateMachine"]

# The layout: "books" and "requests" (stock.py), "transactions" and the fence (participant.py); the fence's
# "incarnation" was added within version 1 (an older snapshot without it reads as none adopted yet).
SNAPSHOT_VERSION = 1


class BooksStateMachine:
    """Implements utils.raft.StateMachine. Not thread-safe: the server wraps it (books_database/store.py)."""

    def __init__(self, catalog: Catalog) -> None:
        self._stock = Stock.seed(catalog)
        self._participant = BooksParticipant()
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
        return json.dumps(
            {**self._state_json(), "applied_index": self._applied_index}, sort_keys=True, separators=(",", ":")
        ).encode()

    def restore(self, data: bytes) -> None:
        body = json.loads(data)
        if body.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"snapshot version {body.get('version')!r}; this code reads {SNAPSHOT_VERSION}")
        self._stock = Stock.from_json(body)
        self._participant = BooksParticipant.from_json(body)
        self._applied_index = body["applied_index"]
        self._stock.set_reserved(self._participant.reserved_by_book())
        self.check_invariants()

    # ---- commands ------------------------------------------------------------------------------

    def execute(self, command: Command) -> Result:
        """Applies one decoded command (apply() without the log index; tests drive this directly)."""
        if isinstance(command, (DecrementStock, IncrementStock)):
            return self._stock.write(command)
        if isinstance(command, (ResolveTransaction, AdoptIncarnation)):
            return self._participant.operate(command, self._stock)
        return self._participant.step(command, self._stock)

    # ---- queries (reads) -------------------------------------------------------------------------

    def book(self, book_id: str) -> BookView | None:
        return self._stock.book(book_id)

    def books(self) -> tuple[BookView, ...]:
        return self._stock.books()

    def transaction(self, tx_id: str) -> Transaction | None:
        return self._participant.transaction(tx_id)

    @property
    def highest_coordinator_term(self) -> int:
        return self._participant.highest_coordinator_term

    @property
    def fence(self) -> Fence:
        return self._participant.fence

    def in_doubt(self) -> tuple[Transaction, ...]:
        return self._participant.in_doubt()

    @property
    def applied_index(self) -> int:
        return self._applied_index

    def conservation(self, book_id: str) -> tuple[int, int, int, int]:
        """(initial stock, Σ restocks, stock on hand, Σ sold) of one book: I1 says a + b == c + d."""
        return self._stock.conservation(book_id)

    def state_hash(self) -> str:
        """A digest of the whole replicated state (not the applied index): equal on caught-up replicas."""
        canonical = json.dumps(self._state_json(), sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(canonical).hexdigest()

    def check_invariants(self) -> None:
        self._stock.check_invariants(self._participant.reserved_by_book())

    def _state_json(self) -> dict[str, Any]:
        return {"version": SNAPSHOT_VERSION, **self._stock.to_json(), **self._participant.to_json()}
