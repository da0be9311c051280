"""The checkouts a chaos run sends: valid, rejected at validation, or declined by payment, with contention
(most orders ask for a few hot books with few copies).

Pure: every choice comes from the injected random.Random; bodies follow docs/design.md §7.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum
from typing import Any

from chaos.scenario import LoadProfile

DECLINED_CARD = "4000000000000002"        # the payment service declines it at Prepare (vote ABORT)
CARD_EXPIRY = "12/2035"


class OrderKind(Enum):
    VALID = "valid"                       # expected: approved, then COMMITTED (or ABORTED for want of stock)
    BAD_CARD = "bad_card"                 # expected: "Order Rejected" (card number fails the Luhn check)
    NO_TERMS = "no_terms"                 # expected: "Order Rejected" (terms not accepted)
    DECLINED = "declined"                 # expected: approved, then ABORTED by the payment participant

    @property
    def expects_rejection(self) -> bool:
        return self in (OrderKind.BAD_CARD, OrderKind.NO_TERMS)


@dataclass(frozen=True, slots=True)
class PlannedOrder:
    kind: OrderKind
    items: tuple[tuple[str, int], ...]    # (book id, quantity)
    body: dict[str, Any]


def luhn_check_digit(partial: str) -> str:
    """The digit that makes `partial + digit` pass the Luhn check."""
    total = 0
    for index, char in enumerate(reversed(partial)):
        digit = int(char)
        if index % 2 == 0:                # these get doubled once the check digit is appended
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def random_card(rng: random.Random) -> str:
    """A fresh Luhn-valid Visa-like number per order, so the fraud service's card-velocity rule stays quiet."""
    partial = "4" + "".join(str(rng.randrange(10)) for _ in range(14))
    return partial + luhn_check_digit(partial)


def pick_kind(rng: random.Random, profile: LoadProfile) -> OrderKind:
    draw = rng.random()
    if draw < profile.rejected_fraction:
        return OrderKind.BAD_CARD if rng.random() < 0.5 else OrderKind.NO_TERMS
    if draw < profile.rejected_fraction + profile.declined_fraction:
        return OrderKind.DECLINED
    return OrderKind.VALID


def pick_items(rng: random.Random, profile: LoadProfile, hot: list[str], cold: list[str]) -> tuple[tuple[str, int], ...]:
    pool = hot if (not cold or rng.random() < profile.hot_fraction) else cold
    count = 1 if rng.random() < 0.8 else 2
    books = rng.sample(pool, min(count, len(pool)))
    return tuple((book, rng.randint(1, profile.quantity_max)) for book in sorted(books))


def plan_order(rng: random.Random, profile: LoadProfile, hot: list[str], cold: list[str],
               sequence: int, kind: OrderKind | None = None) -> PlannedOrder:
    """One checkout: its kind, items and JSON body. `sequence` names the buyer, for reading logs."""
    kind = kind or pick_kind(rng, profile)
    items = pick_items(rng, profile, hot, cold)
    number = DECLINED_CARD if kind is OrderKind.DECLINED else random_card(rng)
    if kind is OrderKind.BAD_CARD:
        number = number[:-1] + str((int(number[-1]) + 1) % 10)   # one wrong digit: the check digit fails
    body = {
        "items": [{"bookId": book, "quantity": quantity} for book, quantity in items],
        "user": {"name": f"Chaos Buyer {sequence}", "contact": f"buyer{sequence}@example.com"},
        "creditCard": {"number": number, "expirationDate": CARD_EXPIRY, "cvv": f"{rng.randrange(1000):03d}"},
        "billingAddress": {"street": "1 Test Street", "city": "Tartu", "state": "", "zip": "50090",
                           "country": "Estonia"},
        "shippingMethod": rng.choice(["standard", "standard", "priority", "express"]),
        "giftWrapping": rng.random() < 0.2,
        "termsAndConditionsAccepted": kind is not OrderKind.NO_TERMS,
    }
    return PlannedOrder(kind, items, body)


def with_quantity(planned: PlannedOrder, quantity: int) -> PlannedOrder:
    """The same order for `quantity` copies of its first book only (the last-copies burst)."""
    book_id = planned.items[0][0]
    body = {**planned.body, "items": [{"bookId": book_id, "quantity": quantity}]}
    return PlannedOrder(planned.kind, ((book_id, quantity),), body)
