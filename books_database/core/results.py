"""What applying a command decided, as data: the proposer maps it to a gRPC reply or status.

Every replica computes the same result for the same log entry; only the proposer's is sent to a client.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from books_database.core.commands import Item


class TxState(Enum):
    PREPARED = "PREPARED"
    COMMITTED = "COMMITTED"
    ABORTED = "ABORTED"


class Reason(Enum):
    """Why a write was refused or a transaction voted abort."""

    UNKNOWN_BOOK = "UNKNOWN_BOOK"  # no such book id
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"  # fewer copies available (stock − reserved) than asked
    ALREADY_ABORTED = "ALREADY_ABORTED"  # a Prepare after the transaction was aborted
    STALE_TERM = "STALE_TERM"  # fenced: the coordinator's term is older than one seen
    UNKNOWN_TRANSACTION = "UNKNOWN_TRANSACTION"  # a Commit for a transaction never prepared
    CONFLICT = "CONFLICT"  # Commit after Abort; a Prepare or request id reused differently
    MALFORMED_COMMAND = "MALFORMED_COMMAND"  # a log entry this version cannot decode
    INCARNATION_CHANGED = "INCARNATION_CHANGED"  # fenced: another executor-group incarnation than the adopted one


@dataclass(frozen=True, slots=True)
class BookView:
    """One catalog row with its stock, as reads return it."""

    id: str
    title: str
    author: str
    category: str
    price: str  # a decimal string, e.g. "34.99": exact, and identical on every replica
    stock: int  # copies on hand, reserved ones included
    reserved: int  # copies held by prepared transactions

    @property
    def available(self) -> int:
        return self.stock - self.reserved


@dataclass(frozen=True, slots=True)
class StockChanged:
    """A DecrementStock/IncrementStock outcome. Refused (ok=False) changes nothing."""

    book_id: str
    ok: bool
    stock: int
    reserved: int
    reason: Reason | None = None

    @property
    def available(self) -> int:
        return self.stock - self.reserved


@dataclass(frozen=True, slots=True)
class Vote:
    """A Prepare outcome: VOTE_COMMIT with what is reserved, or VOTE_ABORT with the reason."""

    tx_id: str
    commit: bool
    state: TxState
    reservations: tuple[Item, ...] = ()
    reason: Reason | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class TransactionEnded:
    """A Commit/Abort outcome: the transaction's state afterwards (an Abort after Commit leaves COMMITTED)."""

    tx_id: str
    state: TxState


@dataclass(frozen=True, slots=True)
class Refused:
    """The command was not applied at all: fenced, unknown transaction, conflict, malformed, unknown book."""

    reason: Reason
    detail: str


@dataclass(frozen=True, slots=True)
class Transaction:
    """A transaction as the participant keeps it."""

    tx_id: str
    state: TxState
    items: tuple[Item, ...]
    coordinator_term: int  # the newest term that touched it
    reason: Reason | None = None  # why it was aborted by this participant's vote, if it was


@dataclass(frozen=True, slots=True)
class FenceAdopted:
    """An AdoptIncarnation outcome: the fence before and after, as (incarnation, newest term)."""

    before: tuple[str, int]
    after: tuple[str, int]


Result = StockChanged | Vote | TransactionEnded | Refused | FenceAdopted
