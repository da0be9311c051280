"""The checkout order, one value from the HTTP edge to the executor: plain frozen values, no wire types.

The gateway builds it once (its items resolved against the catalog once, there); each service gets a view of it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from utils.catalog import Catalog

ITEMS_MAX = 100  # cart lines per order: the API, the wire conversion and the executor all refuse more


def to_cents(price: Decimal) -> int:
    cents = price * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"price {price} has more than 2 decimals")
    return int(cents)


def from_cents(cents: int) -> Decimal:
    return Decimal(cents) / 100


@dataclass(frozen=True, slots=True)
class OrderItem:
    """One cart line: the book as the shopper named it, and what the gateway's catalog lookup found."""

    quantity: int
    book_id: str = ""  # the catalog's id; "" when the catalog has no such book
    title: str = ""  # the catalog's title; "" when unknown
    unit_price_cents: int = 0  # the catalog price at checkout; 0 when unknown
    asked_id: str = ""  # the id the shopper sent; "" when the item names its book by title
    asked_title: str = ""  # the title the shopper sent; "" when by id

    @property
    def found(self) -> bool:
        return bool(self.book_id)

    @property
    def label(self) -> str:
        """How the shopper named the book: reasons quote it ("Unknown book: 'X'")."""
        return self.asked_title or self.asked_id


def resolve_item(catalog: Catalog, asked_id: str, asked_title: str, quantity: int) -> OrderItem:
    """The one catalog lookup of an order item: by id when given, else by title."""
    book = catalog.find(book_id=asked_id or None, title=asked_title or None)
    if book is None:
        return OrderItem(quantity, asked_id=asked_id, asked_title=asked_title)
    return OrderItem(quantity, book.id, book.title, to_cents(book.price), asked_id, asked_title)


@dataclass(frozen=True, slots=True)
class User:
    name: str = ""
    contact: str = ""


def last4(card_number: str) -> str:
    """The last four digits of a card number: the most of it anything may log or store."""
    return "".join(ch for ch in card_number if ch.isdigit())[-4:]


@dataclass(frozen=True, slots=True)
class CreditCard:
    number: str = ""
    expiration_date: str = ""
    cvv: str = ""
    # The most of a card number anything may log or store. Derived from `number` when there is one; given alone
    # where the number is gone (the queue's view), so it survives dropping the number.
    last4: str = ""

    def __post_init__(self) -> None:
        if self.number:
            object.__setattr__(self, "last4", last4(self.number))

    def __repr__(self) -> str:
        # A repr never shows the number or the CVV, so no log line or assertion message can leak them.
        return f"CreditCard(last4={self.last4!r}, expiration_date={self.expiration_date!r})"


@dataclass(frozen=True, slots=True)
class Address:
    street: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    country: str = ""


@dataclass(frozen=True, slots=True)
class Order:
    order_id: str = ""
    items: tuple[OrderItem, ...] = ()
    user: User = User()
    credit_card: CreditCard = CreditCard()
    billing_address: Address = Address()
    shipping_method: str = ""
    gift_wrapping: bool = False
    terms_accepted: bool = False
    payment_token: str = ""  # the payment service's token for the card: set once the order is approved
    correlation_id: str = ""  # the checkout's HTTP correlation id, so the executor logs under it too

    def without_cvv(self) -> Order:
        """For fraud_detection: it checks the card number's use, never the CVV."""
        return replace(self, credit_card=replace(self.credit_card, cvv=""))

    def items_only(self) -> Order:
        """For suggestions: the cart, nothing about the buyer or the card."""
        return Order(order_id=self.order_id, items=self.items)

    def for_queue(self, payment_token: str = "") -> Order:
        """For the queue and the executor: the card's last four and its token, never its number or CVV."""
        return replace(self, credit_card=CreditCard(last4=self.credit_card.last4), payment_token=payment_token)
