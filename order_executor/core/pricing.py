"""Prices a queued order from the prices the gateway resolved at checkout: each line in integer cents.

Pure: no catalog here (the order's items carry their unit prices); an item without one makes the whole order
unpriceable, with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from order_executor.core.order import Item, OrderSummary
from utils.order.order import ITEMS_MAX, Order


@dataclass(frozen=True, slots=True)
class Unpriceable:
    reason: str


def price_order(order: Order) -> OrderSummary | Unpriceable:
    """The same book named twice becomes one line with the quantities summed (sorted by book id)."""
    if not order.items:
        return Unpriceable("the order has no items")
    if len(order.items) > ITEMS_MAX:
        return Unpriceable(f"more than {ITEMS_MAX} items")
    quantities: dict[str, int] = {}
    prices: dict[str, int] = {}
    for item in order.items:
        # A queued order's books were found at checkout; one without a price never was (a peer's bug).
        if not item.found or item.unit_price_cents <= 0:
            return Unpriceable(f"unknown book: {item.book_id or item.label}")
        if item.quantity <= 0:
            return Unpriceable(f"bad quantity {item.quantity} for {item.book_id}")
        quantities[item.book_id] = quantities.get(item.book_id, 0) + item.quantity
        prices[item.book_id] = item.unit_price_cents
    lines = tuple(Item(book_id, quantities[book_id], prices[book_id]) for book_id in sorted(quantities))
    total = sum(line.quantity * line.unit_price_cents for line in lines)
    return OrderSummary(order.order_id, lines, total, order.payment_token, order.credit_card.last4)
