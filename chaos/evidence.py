"""What the participants themselves say after the run: stock per book, each order's payment and
database transaction, each replica's final position — the evidence the invariants are checked against.

Plain data, filled in by chaos/collect.py and read by chaos/invariants.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field

UNREADABLE = "UNREADABLE"      # the participant could not be asked (it does not prove anything either way)


@dataclass(frozen=True, slots=True)
class PaymentFact:
    state: str                  # NONE | PREPARED | CAPTURED | VOIDED | UNREADABLE
    amount_cents: int = 0


@dataclass(frozen=True, slots=True)
class TransactionFact:
    state: str                  # NONE | PREPARED | COMMITTED | ABORTED | UNREADABLE
    items: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class BookStock:
    stock: int                  # on hand, reserved copies included
    reserved: int


@dataclass(frozen=True, slots=True)
class ReplicaFact:
    group: str
    node_id: str
    reachable: bool
    applied_index: int = 0
    state_hash: str = ""        # books_database only: sha256 of the replicated state


@dataclass(frozen=True, slots=True)
class LastCopies:
    """The I5 burst: `copies` of one book on hand, `buyers` concurrent single-copy orders."""

    book_id: str
    copies: int
    buyers: int
    approved: int               # answered "Order Approved"
    committed: int
    final_stock: int            # on hand after every burst order ended
    unfinished: int = 0         # burst orders not final (I3 reports them)


@dataclass(frozen=True, slots=True)
class Evidence:
    initial_stock: dict[str, int]                 # read from the database before the load
    final_stock: dict[str, BookStock]             # read after healing and settling
    payments: dict[str, PaymentFact]              # by order id (= transaction id)
    transactions: dict[str, TransactionFact]
    healed_at_s: float                            # load stopped and every fault healed (s since the run started)
    settle_s: float
    replicas: tuple[ReplicaFact, ...] = ()
    last_copies: LastCopies | None = None
    notes: tuple[str, ...] = field(default=())    # what could not be collected, for people
