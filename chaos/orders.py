"""The checkouts a chaos run sends: valid, rejected at validation, or declined by payment, with contention
(most orders ask for a few hot books with few copies).

Pure: every choice comes from the injected random.Random; bodies follow docs/design.md §7.
"""

from __future__ import annotations

import random

from chaos.scenario import LoadProfile
from testing.orders import DECLINED_CARD, OrderKind, PlannedOrder, broken_card, checkout_body, random_card

CARD_EXPIRY = "12/2035"


def pick_kind(rng: random.Random, profile: LoadProfile) -> OrderKind:
    draw = rng.random()
    if draw < profile.rejected_fraction:
        return OrderKind.BAD_CARD if rng.random() < 0.5 else OrderKind.NO_TERMS
    if draw < profile.rejected_fraction + profile.declined_fraction:
        return OrderKind.DECLINED
    return OrderKind.VALID


def pick_items(
    rng: random.Random, profile: LoadProfile, hot: list[str], cold: list[str]
) -> tuple[tuple[str, int], ...]:
    pool = hot if (not cold or rng.random() < profile.hot_fraction) else cold
    count = 1 if rng.random() < 0.8 else 2
    books = rng.sample(pool, min(count, len(pool)))
    return tuple((book, rng.randint(1, profile.quantity_max)) for book in sorted(books))


def plan_order(
    rng: random.Random,
    profile: LoadProfile,
    hot: list[str],
    cold: list[str],
    sequence: int,
    kind: OrderKind | None = None,
) -> PlannedOrder:
    """One checkout: its kind, items and JSON body. `sequence` names the buyer, for reading logs."""
    kind = kind or pick_kind(rng, profile)
    items = pick_items(rng, profile, hot, cold)
    number = DECLINED_CARD if kind is OrderKind.DECLINED else random_card(rng)
    if kind is OrderKind.BAD_CARD:
        number = broken_card(number)
    body = checkout_body(
        items,
        buyer=f"Chaos Buyer {sequence}",
        contact=f"buyer{sequence}@example.com",
        card=number,
        expiry=CARD_EXPIRY,
        cvv=f"{rng.randrange(1000):03d}",
        shipping=rng.choice(["standard", "standard", "priority", "express"]),
        gift_wrapping=rng.random() < 0.2,
        terms_accepted=kind is not OrderKind.NO_TERMS,
    )
    return PlannedOrder(kind, items, body)


def with_quantity(planned: PlannedOrder, quantity: int) -> PlannedOrder:
    """The same order for `quantity` copies of its first book only (the last-copies burst)."""
    book_id = planned.items[0][0]
    body = {**planned.body, "items": checkout_body([(book_id, quantity)])["items"]}
    return PlannedOrder(planned.kind, ((book_id, quantity),), body)
