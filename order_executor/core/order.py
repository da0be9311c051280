"""What the executor group records about an order: its priced items, total and payment token.

Pure values with a plain-dict form, so the decision log can replicate and snapshot them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Outcome(Enum):
    COMMIT = "COMMIT"
    ABORT = "ABORT"


@dataclass(frozen=True, slots=True)
class Item:
    book_id: str
    quantity: int
    unit_price_cents: int

    def __post_init__(self) -> None:
        if self.quantity <= 0 or self.unit_price_cents < 0:
            raise ValueError(f"bad item {self!r}")


@dataclass(frozen=True, slots=True)
class OrderSummary:
    """The order as the coordinator runs it; transaction id = order id."""

    order_id: str
    items: tuple[Item, ...]
    total_cents: int
    payment_token: str = ""
    card_last4: str = ""

    def __post_init__(self) -> None:
        if not self.order_id:
            raise ValueError("an order needs an id")
        if self.items and self.total_cents != sum(i.quantity * i.unit_price_cents for i in self.items):
            raise ValueError(f"order {self.order_id}: total does not match its items")

    def to_dict(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "total_cents": self.total_cents,
            "payment_token": self.payment_token,
            "card_last4": self.card_last4,
            "items": [[i.book_id, i.quantity, i.unit_price_cents] for i in self.items],
        }

    @staticmethod
    def from_dict(raw: dict[str, Any]) -> OrderSummary:
        return OrderSummary(
            order_id=str(raw["order_id"]),
            total_cents=int(raw["total_cents"]),
            payment_token=str(raw.get("payment_token", "")),
            card_last4=str(raw.get("card_last4", "")),
            items=tuple(Item(str(b), int(q), int(p)) for b, q, p in raw.get("items", [])),
        )


def format_cents(cents: int) -> str:
    """2 decimals, as the HTTP API shows totals."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


@dataclass(frozen=True, slots=True)
class TxRecord:
    """One transaction as the replicated decision log holds it."""

    order: OrderSummary
    begun_index: int  # log index of its BEGIN: recovery finishes transactions in this order
    decision: Outcome | None = None
    reason: str = ""
    ended: bool = False

    @property
    def tx_id(self) -> str:
        return self.order.order_id

    def to_dict(self) -> dict[str, Any]:
        return {
            "order": self.order.to_dict(),
            "begun_index": self.begun_index,
            "decision": self.decision.value if self.decision else None,
            "reason": self.reason,
            "ended": self.ended,
        }

    @staticmethod
    def from_dict(raw: dict[str, Any]) -> TxRecord:
        decision = raw.get("decision")
        return TxRecord(
            OrderSummary.from_dict(raw["order"]),
            int(raw["begun_index"]),
            Outcome(decision) if decision else None,
            str(raw.get("reason", "")),
            bool(raw.get("ended")),
        )
