"""One fault test's record as testing/evidence.py's evidence, for the one invariants checker (testing/invariants.py):
what the client placed and saw, and what the participants hold (tests/docker/probe.py, run inside the fleet).

Each attempt that may have run unseen (a lost answer) counts as an order the client may never have learnt of.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from testing.evidence import (
    Answer,
    BookStock,
    CheckoutRecord,
    ClientHistory,
    Evidence,
    LastCopies,
    OrderState,
    PaymentFact,
    TransactionFact,
)
from testing.invariants import check_all
from testing.orders import OrderKind
from tests.docker.orders import Placed

STOCK_ABORT = "not enough stock"


@dataclass(frozen=True, slots=True)
class Outcome:
    """A test's record: what the client placed, each approved order's final record, what the participants hold."""

    placed: list[Placed]
    final: dict[str, dict[str, Any]]  # order id → GET /orders record (final state)
    late_s: dict[str, float]  # order id → seconds after healing it was first seen final, if late
    stock_before: dict[str, dict[str, int]]
    facts: dict[str, Any]  # probe.py's reply after the test: stock, payments, transactions
    settle_s: float


def answer_of(placed: Placed) -> Answer:
    if not placed.status:
        return Answer.NO_ANSWER
    return Answer.APPROVED if placed.approved else Answer.REJECTED


def history_of(outcome: Outcome) -> ClientHistory:
    checkouts = tuple(
        CheckoutRecord(
            sequence,
            OrderKind.VALID,
            tuple(sorted(p.items.items())),
            0.0,
            0.0,
            answer_of(p),
            p.order_id,
            200 if p.status else None,
            p.attempts,
            "; ".join(p.reasons),
            ambiguous_attempts=p.ambiguous_attempts,
        )
        for sequence, p in enumerate(outcome.placed, 1)
    )
    states: dict[str, tuple[OrderState, ...]] = {
        order_id: (
            OrderState(
                order_id,
                record["state"],
                record.get("reason") or "",
                record.get("total"),
                outcome.late_s.get(order_id, 0.0),
            ),
        )
        for order_id, record in outcome.final.items()
    }
    return ClientHistory(checkouts, states)


def last_copies_of(
    book_id: str, copies: int, burst: list[Placed], final: dict[str, dict[str, Any]], stock_after: int
) -> LastCopies:
    """The I5 burst: `copies` on hand, one buyer per Placed; an abort for another reason than the stock
    (a fault still healing) excuses selling fewer than `copies`."""
    states = [final.get(p.order_id or "", {}) for p in burst if p.approved]
    committed = sum(s.get("state") == "COMMITTED" for s in states)
    other_aborts = sum(s.get("state") == "ABORTED" and STOCK_ABORT not in s.get("reason", "") for s in states)
    unfinished = sum(s.get("state") not in ("COMMITTED", "ABORTED") for s in states)
    return LastCopies(book_id, copies, len(burst), len(states), committed, stock_after, unfinished, other_aborts)


def evidence_of(outcome: Outcome, last_copies: LastCopies | None = None) -> Evidence:
    facts = outcome.facts
    return Evidence(
        initial_stock={book_id: int(b["stock"]) for book_id, b in outcome.stock_before.items()},
        final_stock={book_id: BookStock(int(b["stock"]), int(b["reserved"])) for book_id, b in facts["stock"].items()},
        payments={o: PaymentFact(p["state"], int(p["amountCents"])) for o, p in facts["payments"].items()},
        transactions={
            o: TransactionFact(t["state"], tuple(sorted(t["items"].items()))) for o, t in facts["transactions"].items()
        },
        healed_at_s=0.0,
        settle_s=outcome.settle_s,
        last_copies=last_copies,
        unanswered_is_lost=True,
    )


def check(outcome: Outcome, last_copies: LastCopies | None = None) -> list[str]:
    """Every violation of I1–I5 (I6 and I7 are the chaos tool's), as sentences; empty = all hold."""
    return [v.describe() for v in check_all(history_of(outcome), evidence_of(outcome, last_copies))]
