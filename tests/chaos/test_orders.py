"""The load's orders: seeded, Luhn-valid fresh cards, and each kind built so the fleet answers it as intended."""

from __future__ import annotations

import random

from chaos.orders import plan_order, with_quantity
from chaos.scenario import LoadProfile
from testing.orders import DECLINED_CARD, OrderKind, luhn_check_digit, random_card
from transaction_verification.core.rules import luhn_valid

HOT, COLD = ["h1", "h2"], ["c1", "c2", "c3"]


def test_check_digit_matches_the_validation_service() -> None:
    rng = random.Random(5)
    for _ in range(200):
        card = random_card(rng)
        assert len(card) == 16 and luhn_valid(card)
    assert luhn_check_digit("400000000000000") == "2"  # the declined test card's own check digit


def test_orders_are_deterministic_per_seed() -> None:
    first = [plan_order(random.Random(9), LoadProfile(), HOT, COLD, i) for i in range(20)]
    second = [plan_order(random.Random(9), LoadProfile(), HOT, COLD, i) for i in range(20)]
    assert first == second


def test_each_kind_carries_its_fault() -> None:
    rng = random.Random(1)
    bad = plan_order(rng, LoadProfile(), HOT, COLD, 1, OrderKind.BAD_CARD)
    assert not luhn_valid(bad.body["creditCard"]["number"])
    no_terms = plan_order(rng, LoadProfile(), HOT, COLD, 2, OrderKind.NO_TERMS)
    assert no_terms.body["termsAndConditionsAccepted"] is False
    assert luhn_valid(no_terms.body["creditCard"]["number"])
    declined = plan_order(rng, LoadProfile(), HOT, COLD, 3, OrderKind.DECLINED)
    assert declined.body["creditCard"]["number"] == DECLINED_CARD
    valid = plan_order(rng, LoadProfile(), HOT, COLD, 4, OrderKind.VALID)
    assert valid.body["termsAndConditionsAccepted"] is True and luhn_valid(valid.body["creditCard"]["number"])
    assert [(i["bookId"], i["quantity"]) for i in valid.body["items"]] == list(valid.items)


def test_mix_and_contention_follow_the_profile() -> None:
    profile = LoadProfile(rejected_fraction=0.2, declined_fraction=0.1, hot_fraction=0.7)
    rng = random.Random(2)
    orders = [plan_order(rng, profile, HOT, COLD, i) for i in range(2000)]
    rejected = sum(o.kind.expects_rejection for o in orders) / len(orders)
    declined = sum(o.kind is OrderKind.DECLINED for o in orders) / len(orders)
    hot = sum(all(b in HOT for b, _ in o.items) for o in orders) / len(orders)
    assert 0.17 < rejected < 0.23 and 0.07 < declined < 0.13 and 0.65 < hot < 0.75
    assert all(1 <= q <= profile.quantity_max for o in orders for _, q in o.items)


def test_with_quantity_keeps_one_item() -> None:
    planned = with_quantity(plan_order(random.Random(3), LoadProfile(), HOT, [], 1, OrderKind.VALID), 5)
    assert planned.items == ((planned.items[0][0], 5),)
    assert planned.body["items"] == [{"bookId": planned.items[0][0], "quantity": 5}]
