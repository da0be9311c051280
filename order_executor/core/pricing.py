"""Prices a queued order from the catalog: each line at the book's catalog price, in integer cents.

Pure: the catalog comes in as data; an item it cannot price makes the whole order unpriceable, with a reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from order_executor.core.order import Item, OrderSummary
from utils.catalog import Catalog

ITEMS_MAX = 100


@dataclass(frozen=True, slots=True)
class QueuedItem:
    book_id: str
    title: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Unpriceable:
    reason: str


def to_cents(price: Decimal) -> int:
    cents = price * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"price {price} has more than 2 decimals")
    return int(cents)


def price_order(order_id: str, items: list[QueuedItem], catalog: Catalog, payment_token: str = "",
                card_last4: str = "") -> OrderSummary | Unpriceable:
    """The same book named twice becomes one line with the quantities summed (sorted by book id)."""
    if not items:
        return Unpriceable("the order has no items")
    if len(items) > ITEMS_MAX:
        return Unpriceable(f"more than {ITEMS_MAX} items")
    quantities: dict[str, int] = {}
    prices: dict[str, int] = {}
    for item in items:
        book = catalog.find(book_id=item.book_id or None, title=item.title or None)
        if book is None:
            return Unpriceable(f"unknown book: {item.book_id or item.title}")
        if item.quantity <= 0:
            return Unpriceable(f"bad quantity {item.quantity} for {book.id}")
        quantities[book.id] = quantities.get(book.id, 0) + item.quantity
        prices[book.id] = to_cents(book.price)
    lines = tuple(Item(book_id, quantities[book_id], prices[book_id]) for book_id in sorted(quantities))
    total = sum(line.quantity * line.unit_price_cents for line in lines)
    return OrderSummary(order_id, lines, total, payment_token, card_last4)
