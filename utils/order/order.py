"""The checkout order as the validation services see it: plain frozen values, no wire types.

Built from the orchestrator's JSON (docs/design.md §7) or from the proto; each service gets only what it needs.
"""
from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class OrderItem:
    book_id: str      # "" when the item names the book by title
    name: str         # the title, "" when by id
    quantity: int


@dataclass(frozen=True, slots=True)
class User:
    name: str = ""
    contact: str = ""


@dataclass(frozen=True, slots=True)
class CreditCard:
    number: str = ""
    expiration_date: str = ""
    cvv: str = ""

    @property
    def last4(self) -> str:
        """The most of a card number anything may log or store."""
        digits = "".join(ch for ch in self.number if ch.isdigit())
        return digits[-4:]

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
    items: tuple[OrderItem, ...] = ()
    user: User = User()
    credit_card: CreditCard = CreditCard()
    billing_address: Address = Address()
    shipping_method: str = ""
    gift_wrapping: bool = False
    terms_accepted: bool = False

    def without_cvv(self) -> Order:
        """For fraud_detection: it checks the card number's use, never the CVV."""
        return replace(self, credit_card=replace(self.credit_card, cvv=""))

    def items_only(self) -> Order:
        """For suggestions: the cart, nothing about the buyer or the card."""
        return Order(items=self.items)
