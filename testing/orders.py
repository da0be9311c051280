"""The one builder of test orders: Luhn-valid cards, POST /checkout bodies (docs/design.md §7) and queue orders
as the gateway enqueues them after validation; the kinds of order a test sends and what the fleet must answer.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from utils.catalog.file import load_catalog
from utils.order.order import CreditCard, Order, User, resolve_item
from utils.order.wire import order_to_queue_proto
from utils.pb.order_queue import order_queue_pb2 as queue_pb

Item = tuple[str, int]  # (book id, or title where the body names books, quantity)
GOOD_CARD = "4111111111111111"
DECLINED_CARD = "4000000000000002"  # the payment service declines it at Prepare (vote ABORT)
CARD_EXPIRY = "12/2030"


class OrderKind(Enum):
    VALID = "valid"  # expected: approved, then COMMITTED (or ABORTED for want of stock)
    BAD_CARD = "bad_card"  # expected: "Order Rejected" (card number fails the Luhn check)
    NO_TERMS = "no_terms"  # expected: "Order Rejected" (terms not accepted)
    DECLINED = "declined"  # expected: approved, then ABORTED by the payment participant

    @property
    def expects_rejection(self) -> bool:
        return self in (OrderKind.BAD_CARD, OrderKind.NO_TERMS)


@dataclass(frozen=True, slots=True)
class PlannedOrder:
    kind: OrderKind
    items: tuple[Item, ...]  # (book id, quantity)
    body: dict[str, Any]


def luhn_check_digit(partial: str) -> str:
    """The digit that makes `partial + digit` pass the Luhn check."""
    total = 0
    for index, char in enumerate(reversed(partial)):
        digit = int(char)
        if index % 2 == 0:  # these get doubled once the check digit is appended
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def random_card(rng: random.Random) -> str:
    """A fresh Luhn-valid Visa-like number per order, so the fraud service's card-velocity rule stays quiet."""
    partial = "4" + "".join(str(rng.randrange(10)) for _ in range(14))
    return partial + luhn_check_digit(partial)


def serial_card(serial: int) -> str:
    """A 16-digit Luhn-valid Visa-like number, different for each serial (no random source needed)."""
    partial = f"4{serial:014d}"
    return partial + luhn_check_digit(partial)


def broken_card(number: str) -> str:
    """The same number with one wrong digit: its check digit fails."""
    return number[:-1] + str((int(number[-1]) + 1) % 10)


def seed_order(**changes: Any) -> dict[str, Any]:
    """The course's example request (docs/design.md §7), one book by title, with top-level members replaced by
    `changes`."""
    body = checkout_body([("Clean Architecture", 1)], by_title=True, shipping="express")
    body.update(changes)
    return body


def checkout_body(
    items: Iterable[Item],
    *,
    by_title: bool = False,
    buyer: str = "Ada Lovelace",
    contact: str = "ada@example.com",
    card: str = GOOD_CARD,
    expiry: str = CARD_EXPIRY,
    cvv: str = "123",
    shipping: str = "standard",
    gift_wrapping: bool = False,
    terms_accepted: bool = True,
) -> dict[str, Any]:
    """A POST /checkout body; `by_title` names the books by title (as the storefront may) instead of by id."""
    key = "name" if by_title else "bookId"
    return {
        "items": [{key: book, "quantity": quantity} for book, quantity in items],
        "user": {"name": buyer, "contact": contact},
        "creditCard": {"number": card, "expirationDate": expiry, "cvv": cvv},
        "billingAddress": {
            "street": "1 Main St",
            "city": "Tartu",
            "state": "Tartumaa",
            "zip": "50090",
            "country": "Estonia",
        },
        "shippingMethod": shipping,
        "giftWrapping": gift_wrapping,
        "termsAndConditionsAccepted": terms_accepted,
    }


def queue_order(
    order_id: str,
    items: Iterable[Item],
    payment_token: str,
    card_last4: str,
    shipping: str = "standard",
    user_name: str = "Ada",
) -> queue_pb.Order:
    """An order as the gateway enqueues it after validation: a tokenized card, its last four digits only, and
    its books resolved against the catalog (the executor prices with the resolved unit prices)."""
    catalog = load_catalog()
    order = Order(
        order_id,
        tuple(resolve_item(catalog, b, "", q) for b, q in items),
        User(name=user_name),
        CreditCard(last4=card_last4),
        shipping_method=shipping,
        payment_token=payment_token,
    )
    return order_to_queue_proto(order)
