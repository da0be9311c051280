"""What a chaos run saw: every checkout and its answer, order states over time, stock reads and restocks,
replica status samples and the faults — each with its time in seconds since the run started.

Plain frozen data; chaos/history.py collects them while the run goes, `Observed` is the finished record.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from chaos.orders import OrderKind
from chaos.scenario import FaultEvent


class Answer(Enum):
    APPROVED = "approved"        # 200 "Order Approved": the order is queued and must end COMMITTED or ABORTED
    REJECTED = "rejected"        # 200 "Order Rejected"
    REFUSED = "refused"          # a 4xx/5xx answer: nothing was placed (503 while a dependency is down)
    NO_ANSWER = "no_answer"      # timed out or the connection failed, retries exhausted: outcome unknown


FINAL_STATES = ("COMMITTED", "ABORTED", "REJECTED")


@dataclass(frozen=True, slots=True)
class CheckoutRecord:
    sequence: int
    kind: OrderKind
    items: tuple[tuple[str, int], ...]
    sent_at_s: float
    answered_at_s: float
    answer: Answer
    order_id: str | None
    http_status: int | None
    attempts: int                 # HTTP attempts with one Idempotency-Key (retries of 409/503/no answer)
    detail: str = ""              # the reasons, or the error, for people
    replayed_ids: tuple[str, ...] = ()   # order ids answered to retries: must all equal order_id (I4)
    error_code: str = ""          # a refusal's problem code (its "error": {"code"}), e.g. DEPENDENCY_UNAVAILABLE


@dataclass(frozen=True, slots=True)
class OrderState:
    order_id: str
    state: str                    # QUEUED | EXECUTING | COMMITTED | ABORTED | REJECTED | UNKNOWN (404)
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
    return_s: float | None        # None: no answer, so it may or may not have been applied
    acknowledged: bool            # 200 "Success"


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
class FaultRecord:
    event: FaultEvent
    node: str                     # the process it hit ("books-2", "executor-1", "payment_service", "*")
    started_at_s: float
    healed_at_s: float | None
    error: str = ""               # why it could not be injected (it is then reported, not counted)


@dataclass(frozen=True, slots=True)
class Observed:
    """Everything recorded during one run, frozen once the load has stopped."""

    checkouts: tuple[CheckoutRecord, ...]
    order_states: dict[str, tuple[OrderState, ...]]     # changes only, in the order seen
    stock_reads: tuple[StockRead, ...]
    restocks: tuple[Restock, ...]
    status_samples: tuple[StatusSample, ...]
    faults: tuple[FaultRecord, ...]
    skipped_ticks: int = 0
    load_s: float = 0.0                                 # how long the load ran
    load_sequence_max: int = 0                          # checkouts numbered above it came after the load

    def approved(self) -> list[CheckoutRecord]:
        return [c for c in self.checkouts if c.answer is Answer.APPROVED and c.order_id]

    def first_final(self, order_id: str) -> OrderState | None:
        return next((s for s in self.order_states.get(order_id, ()) if s.state in FINAL_STATES), None)

    def last_state(self, order_id: str) -> OrderState | None:
        seen = self.order_states.get(order_id, ())
        return seen[-1] if seen else None
