"""transaction_verification's rules: each failure names its field in the shopper's words."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from orchestrator.api_models import CheckoutRequest
from transaction_verification.core import rules
from utils.catalog.file import load_catalog
from utils.order.order import Address, CreditCard, Order, OrderItem, User, resolve_item

TODAY = date(2026, 6, 15)
SEED_EXAMPLE = {
    "items": [{"name": "Clean Architecture", "quantity": 1}],
    "user": {"name": "Ada Lovelace", "contact": "ada@example.com"},
    "creditCard": {"number": "4111111111111111", "expirationDate": "12/2030", "cvv": "123"},
    "billingAddress": {"street": "1 Main St", "city": "Springfield", "state": "IL", "zip": "62701", "country": "USA"},
    "shippingMethod": "standard",
    "giftWrapping": False,
    "termsAndConditionsAccepted": True,
}


def order_of_body(body: dict[str, object]) -> Order:
    """The order as the gateway builds it: types checked, items resolved against the catalog once."""
    return CheckoutRequest.model_validate(body).to_order("o1", load_catalog())


def item(book_id: str, title: str, quantity: int) -> OrderItem:
    return resolve_item(load_catalog(), book_id, title, quantity)


@pytest.fixture
def order() -> Order:
    return order_of_body(SEED_EXAMPLE)


def test_the_seed_example_passes_every_check(order: Order) -> None:
    assert rules.verify_items(order.items) == ()
    assert rules.verify_user_data(order) == ()
    assert rules.verify_card(order.credit_card, TODAY) == ()


def test_items_empty_quantity_and_unknown_book() -> None:
    assert rules.verify_items(()) == ("Items: the cart is empty",)
    reasons = rules.verify_items(
        (
            item("", "Clean Architecture", 0),
            item("", "Clean Code", 101),
            item("", "No Such Book", 1),
            item("book_106_refactoring", "", 100),
        )
    )
    assert reasons == (
        "Invalid quantity for 'Clean Architecture': must be 1 to 100",
        "Invalid quantity for 'Clean Code': must be 1 to 100",
        "Unknown book: 'No Such Book'",
    )
    assert rules.verify_items((item("book_999", "", 1),)) == ("Unknown book: 'book_999'",)
    # The rule trusts the gateway's lookup: an item it did not find is unknown, whatever its name says.
    assert rules.verify_items((OrderItem(1, asked_title="Clean Code"),)) == ("Unknown book: 'Clean Code'",)


@pytest.mark.parametrize(
    ("user", "reason"),
    [
        (User("", "ada@example.com"), "User name is required"),
        (User("Ada", ""), "User contact is required (an e-mail address or a phone number)"),
        (User("Ada", "not a contact"), "Invalid user contact: give an e-mail address or a phone number"),
        (User("Ada", "ada@localhost"), "Invalid user contact: give an e-mail address or a phone number"),
    ],
)
def test_user_name_and_contact(user: User, reason: str) -> None:
    assert rules.verify_user(user) == (reason,)


@pytest.mark.parametrize("contact", ["ada@example.com", "+372 5555 1234", "(555) 123-4567"])
def test_contact_may_be_an_email_or_a_phone(contact: str) -> None:
    assert rules.verify_user(User("Ada", contact)) == ()


def test_billing_address_fields_and_state_only_where_countries_have_states() -> None:
    assert rules.verify_billing_address(Address()) == (
        "Billing address: street is required",
        "Billing address: city is required",
        "Billing address: zip is required",
        "Billing address: country is required",
    )
    full = Address("Rüütli 1", "Tartu", "", "51007", "Estonia")
    assert rules.verify_billing_address(full) == ()
    assert rules.verify_billing_address(replace(full, country="United States")) == (
        "Billing address: state is required for United States",
    )


def test_terms_must_be_accepted(order: Order) -> None:
    assert rules.verify_user_data(replace(order, terms_accepted=False)) == ("Terms and conditions must be accepted",)


def test_luhn() -> None:
    assert rules.luhn_valid("4111111111111111")
    assert rules.luhn_valid("79927398713")
    assert not rules.luhn_valid("4111111111111112")


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("4111111111111112", "Invalid credit card number: the check digit is wrong"),
        ("4111-1111-1111-111x", "Invalid credit card format: the number must have 13 to 19 digits"),
        ("411111111111", "Invalid credit card format: the number must have 13 to 19 digits"),
        ("", "Invalid credit card format: the number must have 13 to 19 digits"),
        ("４１１１１１１１１１１１１１１１", "Invalid credit card format: the number must have 13 to 19 digits"),
    ],
)
def test_card_number_format_and_check_digit(number: str, reason: str) -> None:
    assert rules.verify_card(CreditCard(number, "12/2030", "123"), TODAY) == (reason,)


def test_card_number_may_be_grouped_with_spaces_or_dashes() -> None:
    assert rules.verify_card(CreditCard("4111 1111-1111 1111", "12/30", "123"), TODAY) == ()


@pytest.mark.parametrize(
    ("expiry", "reason"),
    [
        ("06/2026", None),  # valid through the end of its month
        ("6/26", None),
        ("05/2026", "Credit card has expired"),
        ("12/25", "Credit card has expired"),
        ("13/2030", "Invalid credit card expiration date: use MM/YY or MM/YYYY"),
        ("2030-12", "Invalid credit card expiration date: use MM/YY or MM/YYYY"),
        ("", "Invalid credit card expiration date: use MM/YY or MM/YYYY"),
    ],
)
def test_expiry_is_in_the_future(expiry: str, reason: str | None) -> None:
    assert rules.verify_card(CreditCard("4111111111111111", expiry, "123"), TODAY) == ((reason,) if reason else ())


@pytest.mark.parametrize(
    ("cvv", "ok"), [("123", True), ("1234", True), ("12", False), ("12345", False), ("12a", False)]
)
def test_cvv_has_three_or_four_digits(cvv: str, ok: bool) -> None:
    reasons = rules.verify_card(CreditCard("4111111111111111", "12/2030", cvv), TODAY)
    assert reasons == (() if ok else ("Invalid CVV: must be 3 or 4 digits",))


def test_no_reason_ever_repeats_the_card_number_or_cvv() -> None:
    card = CreditCard("4111111111111112", "01/2020", "99")
    text = " ".join(rules.verify_card(card, TODAY))
    assert "4111" not in text and "99" not in text
    assert "4111111111111112" not in repr(card) and "1112" in repr(card)


def test_order_json_reads_either_terms_spelling_and_book_ids() -> None:
    body = {**SEED_EXAMPLE, "items": [{"bookId": "book_101_clean_code", "quantity": 2}]}
    del body["termsAndConditionsAccepted"]
    order = order_of_body({**body, "termsAccepted": True})
    assert order.terms_accepted and order.items == (
        OrderItem(2, "book_101_clean_code", "Clean Code", 3499, asked_id="book_101_clean_code"),
    )
    assert not order_of_body(body).terms_accepted
