"""fraud_detection's named rules and card velocity: the rule that fired is the reason."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fraud_detection.core import rules
from fraud_detection.core.velocity import CardVelocity, card_fingerprint
from utils.catalog.file import load_catalog
from utils.order.order import Address, OrderItem, User, resolve_item

LIMITS = rules.FraudLimits()
HOME = Address("1 Main St", "Tartu", "", "51007", "Estonia")


def test_an_ordinary_buyer_passes() -> None:
    assert rules.check_user_data(User("Ada", "ada@example.com"), HOME, LIMITS) is None
    assert rules.check_user_data(User("Ada", "+372 5555 1234"), HOME, LIMITS) is None


@pytest.mark.parametrize("contact", ["x@mailinator.com", "x@YOPMAIL.com", "x@eu.mailinator.com"])
def test_disposable_email_domains(contact: str) -> None:
    hit = rules.check_user_data(User("Ada", contact), HOME, LIMITS)
    assert hit is not None and hit.rule == "disposable_email"
    assert "disposable e-mail" in hit.reason


def test_a_lookalike_domain_is_not_disposable() -> None:
    assert rules.check_user_data(User("Ada", "x@notmailinator.com"), HOME, LIMITS) is None


@pytest.mark.parametrize("country", ["North Korea", "kp", " KP "])
def test_billing_country_on_the_deny_list(country: str) -> None:
    hit = rules.check_user_data(User("Ada", "ada@example.com"), Address("s", "c", "", "z", country), LIMITS)
    assert hit is not None and hit.rule == "denied_country"


def test_absurd_quantity_and_total() -> None:
    catalog = load_catalog()

    def item(book_id: str, title: str, quantity: int) -> OrderItem:  # as the gateway resolves it, once
        return resolve_item(catalog, book_id, title, quantity)

    assert rules.absurd_order((item("", "Clean Code", 100),), LIMITS) is None
    hit = rules.absurd_order(tuple(item("", "Clean Code", 100) for _ in range(3)), LIMITS)
    assert hit is not None and hit.rule == "absurd_quantity"
    pricey = rules.FraudLimits(order_total_max=Decimal("100"))
    hit = rules.absurd_order((item("book_124_introduction_to_algorithms", "", 2),), pricey)
    assert hit is not None and hit.rule == "absurd_total"
    assert rules.order_total((item("", "Clean Code", 2),)) == Decimal("69.98")
    assert rules.order_total((item("", "No Such Book", 2),)) == Decimal(0)  # verification rejects it


def test_velocity_more_than_n_uses_within_the_window() -> None:
    velocity = CardVelocity(uses_max=3, window_s=60.0, cards_max=10)
    card = card_fingerprint("4111111111111111", b"k")
    assert [velocity.record_use(card, t) for t in (0.0, 1.0, 2.0)] == [False, False, False]
    assert velocity.record_use(card, 3.0) is True  # the fourth use within a minute
    assert velocity.record_use(card_fingerprint("5555555555554444", b"k"), 3.0) is False  # per card
    assert velocity.record_use(card, 64.0) is False  # uses at 0..3 have left the window


def test_velocity_remembers_a_bounded_number_of_cards_forgetting_the_idlest() -> None:
    velocity = CardVelocity(uses_max=1, window_s=100.0, cards_max=2)
    velocity.record_use("a", 0.0)
    velocity.record_use("b", 1.0)
    velocity.record_use("a", 2.0)  # a is now the most recently used
    velocity.record_use("c", 3.0)  # full: b (idle longest) is forgotten
    assert len(velocity) == 2 and velocity.forgotten == 1
    assert velocity.uses_in_window("b", 3.0) == 0 and velocity.uses_in_window("a", 3.0) == 2


def test_fingerprints_hide_the_number_and_depend_on_the_key() -> None:
    first = card_fingerprint("4111111111111111", b"key-1")
    assert "4111" not in first and "1111" not in first
    assert first == card_fingerprint("4111111111111111", b"key-1")
    assert first != card_fingerprint("4111111111111111", b"key-2")
    with pytest.raises(ValueError):
        card_fingerprint("4111111111111111", b"")
