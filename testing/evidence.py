"""The evidence docs/design.md §6's invariants are checked against: what the clients saw (every checkout and its
answer, order states over time, stock reads, restocks, replica status samples) and what the participants hold.

Plain frozen data, times in seconds since the run started; the chaos tool, the e2e and the container tests
each collect it their own way and hand it to testing/invariants.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from testing.orders import Item, OrderKind
from utils.pb.books_database import books_database_pb2 as books_pb
from utils.pb.payment_service import payment_service_pb2 as pay_pb

UNREADABLE = "UNREADABLE"  # the participant could not be asked (it does not prove anything either way)
FINAL_STATES = ("COMMITTED", "ABORTED", "REJECTED")


class Answer(Enum):
    APPROVED = "approved"  # 200 "Order Approved": the order is queued and must end COMMITTED or ABORTED
    REJECTED = "rejected"  # 200 "Order Rejected"
    REFUSED = "refused"  # a 4xx/5xx answer: nothing was placed (503 while a dependency is down)
    NO_ANSWER = "no_answer"  # timed out or the connection failed, retries exhausted: outcome unknown


@dataclass(frozen=True, slots=True)
class CheckoutRecord:
    sequence: int
    kind: OrderKind
    items: tuple[Item, ...]
    sent_at_s: float
    answered_at_s: float
    answer: Answer
    order_id: str | None
    http_status: int | None
    attempts: int  # HTTP attempts with one Idempotency-Key (retries of 409/503/no answer)
    detail: str = ""  # the reasons, or the error, for people
    replayed_ids: tuple[str, ...] = ()  # order ids answered to retries: must all equal order_id (I4)
    error_code: str = ""  # a refusal's problem code (its "error": {"code"}), e.g. DEPENDENCY_UNAVAILABLE
    # Attempts whose answer was lost, each counted as an order that may exist unseen (a client that does not
    # trust the Idempotency-Key to fold them into the answered one); 0 leaves it to `answer` alone.
    ambiguous_attempts: int = 0
    # Each refusal a retry followed, "503 DEPENDENCY_UNAVAILABLE" (testing/retried_refusals.py); a final one too.
    refused: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OrderState:
    order_id: str
    state: str  # QUEUED | EXECUTING | COMMITTED | ABORTED | REJECTED | UNKNOWN (404)
    reason: str
    total: str | None
    seen_at_s: float


@dataclass(frozen=True, slots=True)
class StockRead:
    book_id: str
    call_s: float
    return_s: float
    quantity: int


@dataclass(frozen=True, slots=True)
class Restock:
    book_id: str
    amount: int
    call_s: float
    return_s: float | None  # None: no answer, so it may or may not have been applied
    acknowledged: bool  # 200 "Success"


@dataclass(frozen=True, slots=True)
class StatusSample:
    """One replica's Raft status as one probe saw it; role "unreachable" when it did not answer."""

    at_s: float
    group: str
    node_id: str
    role: str
    term: int
    leader_id: str
    commit_index: int


@dataclass(frozen=True, slots=True)
class ClientHistory:
    """What the clients saw, frozen once the load has stopped."""

    checkouts: tuple[CheckoutRecord, ...]
    order_states: dict[str, tuple[OrderState, ...]]  # changes only, in the order seen
    stock_reads: tuple[StockRead, ...] = ()
    restocks: tuple[Restock, ...] = ()
    status_samples: tuple[StatusSample, ...] = ()

    def approved(self) -> list[CheckoutRecord]:
        return [c for c in self.checkouts if c.answer is Answer.APPROVED and c.order_id]

    def first_final(self, order_id: str) -> OrderState | None:
        return next((s for s in self.order_states.get(order_id, ()) if s.state in FINAL_STATES), None)

    def last_state(self, order_id: str) -> OrderState | None:
        seen = self.order_states.get(order_id, ())
        return seen[-1] if seen else None


@dataclass(frozen=True, slots=True)
class PaymentFact:
    state: str  # NONE | PREPARED | CAPTURED | VOIDED | UNREADABLE
    amount_cents: int = 0


@dataclass(frozen=True, slots=True)
class TransactionFact:
    state: str  # NONE | PREPARED | COMMITTED | ABORTED | UNREADABLE
    items: tuple[Item, ...] = ()


_PAYMENT_STATES = {
    pay_pb.PAYMENT_STATE_NONE: "NONE",
    pay_pb.PAYMENT_STATE_PREPARED: "PREPARED",
    pay_pb.PAYMENT_STATE_CAPTURED: "CAPTURED",
    pay_pb.PAYMENT_STATE_VOIDED: "VOIDED",
}
_TX_STATES = {books_pb.PREPARED: "PREPARED", books_pb.COMMITTED: "COMMITTED", books_pb.ABORTED: "ABORTED"}


def payment_fact(reply: pay_pb.Payment) -> PaymentFact:
    """The payment service's GetPayment reply, as evidence."""
    return PaymentFact(_PAYMENT_STATES.get(reply.state, UNREADABLE), int(reply.amount_cents))


def transaction_fact(reply: books_pb.GetTransactionResponse | None) -> TransactionFact:
    """The books database's GetTransaction reply (None: no such transaction), as evidence."""
    if reply is None:
        return TransactionFact("NONE")
    return TransactionFact(
        _TX_STATES.get(reply.state, UNREADABLE), tuple((i.book_id, int(i.quantity)) for i in reply.items)
    )


@dataclass(frozen=True, slots=True)
class BookStock:
    stock: int  # on hand, reserved copies included
    reserved: int


@dataclass(frozen=True, slots=True)
class ReplicaFact:
    group: str
    node_id: str
    reachable: bool
    applied_index: int = 0
    state_hash: str = ""  # books_database only: sha256 of the replicated state


@dataclass(frozen=True, slots=True)
class LastCopies:
    """The I5 burst: `copies` of one book on hand, `buyers` concurrent single-copy orders."""

    book_id: str
    copies: int
    buyers: int
    approved: int  # answered "Order Approved"
    committed: int
    final_stock: int  # on hand after every burst order ended
    unfinished: int = 0  # burst orders not final (I3 reports them)
    other_aborts: int = 0  # burst orders aborted for another reason than the stock: exactly k is not owed


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the participants themselves say after the run, and the time the orders had to settle in."""

    initial_stock: dict[str, int]  # read from the database before the load
    final_stock: dict[str, BookStock]  # read after healing and settling
    payments: dict[str, PaymentFact]  # by order id (= transaction id)
    transactions: dict[str, TransactionFact]
    healed_at_s: float  # load stopped and every fault healed (s since the run started)
    settle_s: float
    replicas: tuple[ReplicaFact, ...] = ()
    last_copies: LastCopies | None = None
    notes: tuple[str, ...] = field(default=())  # what could not be collected, for people
    # The container tests retry every checkout until it is answered: one never answered is lost (I3).
    unanswered_is_lost: bool = False
