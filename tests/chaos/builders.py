"""Small builders of recorded runs for the chaos tool's tests: a clean history, then one planted fault at a time."""

from __future__ import annotations

from chaos.records import Observed
from testing.evidence import (
    Answer,
    BookStock,
    CheckoutRecord,
    Evidence,
    OrderState,
    PaymentFact,
    Restock,
    StatusSample,
    StockRead,
    TransactionFact,
)
from testing.orders import OrderKind

BOOK = "book_a"


def checkout(
    sequence: int,
    order_id: str | None,
    quantity: int = 1,
    answer: Answer = Answer.APPROVED,
    sent: float = 1.0,
    answered: float = 1.2,
    replayed: tuple[str, ...] = (),
) -> CheckoutRecord:
    return CheckoutRecord(
        sequence,
        OrderKind.VALID,
        ((BOOK, quantity),),
        sent,
        answered,
        answer,
        order_id,
        200 if answer in (Answer.APPROVED, Answer.REJECTED) else None,
        1,
        "",
        replayed,
    )


def state(order_id: str, name: str, at: float, total: str | None = "10.00") -> OrderState:
    return OrderState(order_id, name, "" if name != "ABORTED" else "card declined", total, at)


def observed(
    checkouts: list[CheckoutRecord],
    states: list[OrderState],
    restocks: tuple[Restock, ...] = (),
    reads: tuple[StockRead, ...] = (),
    samples: tuple[StatusSample, ...] = (),
) -> Observed:
    by_order: dict[str, list[OrderState]] = {}
    for s in states:
        by_order.setdefault(s.order_id, []).append(s)
    return Observed(
        tuple(checkouts),
        {k: tuple(v) for k, v in by_order.items()},
        reads,
        restocks,
        samples,
        (),
        0,
        10.0,
        max((c.sequence for c in checkouts), default=0),
    )


def clean_run() -> tuple[Observed, Evidence]:
    """Stock 10; order o1 (2 copies) committed, o2 (1 copy) aborted by the declined card, r1 rejected;
    a restock of 3 acknowledged. On hand at the end: 10 + 3 − 2 = 11."""
    checkouts = [
        checkout(1, "o1", 2),
        checkout(2, "o2", 1, sent=1.5, answered=1.7),
        checkout(3, "r1", 1, Answer.REJECTED),
    ]
    states = [state("o1", "QUEUED", 1.3), state("o1", "COMMITTED", 2.0, "20.00"), state("o2", "ABORTED", 2.1)]
    restocks = (Restock(BOOK, 3, 3.0, 3.1, True),)
    reads = (StockRead(BOOK, 0.5, 0.6, 10), StockRead(BOOK, 2.5, 2.6, 8), StockRead(BOOK, 3.5, 3.6, 11))
    run = observed(checkouts, states, restocks, reads)
    evidence = Evidence(
        initial_stock={BOOK: 10},
        final_stock={BOOK: BookStock(11, 0)},
        payments={"o1": PaymentFact("CAPTURED", 2000), "o2": PaymentFact("VOIDED"), "r1": PaymentFact("NONE")},
        transactions={
            "o1": TransactionFact("COMMITTED", ((BOOK, 2),)),
            "o2": TransactionFact("ABORTED"),
            "r1": TransactionFact("NONE"),
        },
        healed_at_s=5.0,
        settle_s=10.0,
    )
    return run, evidence
