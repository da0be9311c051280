"""Transaction verification's rules: the cart, the buyer's data and the card's format.

Pure: each check takes the order (or `today`) and returns the reasons it fails, worded for the shopper and
naming the field; an empty tuple means it passes. Items arrive resolved by the gateway's one catalog lookup.
"""

from __future__ import annotations

import re
from datetime import date

from utils.order.order import Address, CreditCard, Order, OrderItem, User

QUANTITY_MIN = 1
QUANTITY_MAX = 100
CARD_DIGITS_MIN = 13  # ISO/IEC 7812 primary account numbers are 13..19 digits here (shorter ones are retired)
CARD_DIGITS_MAX = 19
PHONE_DIGITS_MIN = 7
PHONE_DIGITS_MAX = 15  # E.164
FIELD_LENGTH_MAX = 200

# A state (or province) is required only where addresses need one to be delivered; elsewhere it may be empty.
COUNTRIES_WITH_STATES = frozenset(
    {
        "us",
        "usa",
        "united states",
        "united states of america",
        "ca",
        "canada",
        "au",
        "australia",
        "br",
        "brazil",
        "in",
        "india",
        "mx",
        "mexico",
    }
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
_PHONE = re.compile(r"^\+?[0-9 ()\-.]+$")
_EXPIRY = re.compile(r"^(\d{1,2})\s*/\s*(\d{2}|\d{4})$")
_CVV = re.compile(r"^\d{3,4}$")


def _label(item: OrderItem) -> str:
    return item.label or "an item"


# --- a VerifyItems ------------------------------------------------------------------------------


def verify_items(items: tuple[OrderItem, ...]) -> tuple[str, ...]:
    if not items:
        return ("Items: the cart is empty",)
    reasons: list[str] = []
    for item in items:
        if not QUANTITY_MIN <= item.quantity <= QUANTITY_MAX:
            reasons.append(f"Invalid quantity for {_label(item)!r}: must be {QUANTITY_MIN} to {QUANTITY_MAX}")
        if not item.label:
            reasons.append("Items: every item needs a book id or a title")
        elif not item.found:
            reasons.append(f"Unknown book: {_label(item)[:FIELD_LENGTH_MAX]!r}")
    return tuple(reasons)


# --- b VerifyUserData -----------------------------------------------------------------------------


def is_email(contact: str) -> bool:
    return bool(_EMAIL.match(contact))


def is_phone(contact: str) -> bool:
    digits = sum(ch.isdigit() for ch in contact)
    return bool(_PHONE.match(contact)) and PHONE_DIGITS_MIN <= digits <= PHONE_DIGITS_MAX


def verify_user(user: User) -> tuple[str, ...]:
    reasons: list[str] = []
    if not user.name.strip():
        reasons.append("User name is required")
    elif len(user.name) > FIELD_LENGTH_MAX:
        reasons.append(f"User name is too long (at most {FIELD_LENGTH_MAX} characters)")
    contact = user.contact.strip()
    if not contact:
        reasons.append("User contact is required (an e-mail address or a phone number)")
    elif not (is_email(contact) or is_phone(contact)):
        reasons.append("Invalid user contact: give an e-mail address or a phone number")
    return tuple(reasons)


def verify_billing_address(address: Address) -> tuple[str, ...]:
    reasons = [
        f"Billing address: {field} is required"
        for field, value in (
            ("street", address.street),
            ("city", address.city),
            ("zip", address.zip),
            ("country", address.country),
        )
        if not value.strip()
    ]
    if not address.state.strip() and address.country.strip().casefold() in COUNTRIES_WITH_STATES:
        reasons.append(f"Billing address: state is required for {address.country.strip()}")
    return tuple(reasons)


def verify_user_data(order: Order) -> tuple[str, ...]:
    reasons = [*verify_user(order.user), *verify_billing_address(order.billing_address)]
    if not order.terms_accepted:
        reasons.append("Terms and conditions must be accepted")
    return tuple(reasons)


# --- c VerifyCreditCardFormat ------------------------------------------------------------------------


def card_digits(number: str) -> str | None:
    """The digits of a card number typed with optional spaces or dashes; None if anything else is in it."""
    compact = number.replace(" ", "").replace("-", "")
    return compact if compact.isdigit() and compact.isascii() else None


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check digit: doubling every second digit from the right."""
    total = 0
    for position, ch in enumerate(reversed(digits)):
        value = int(ch)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def parse_expiry(text: str) -> tuple[int, int] | None:
    """(year, month) from MM/YY or MM/YYYY; None when it is neither or the month is not 1..12."""
    match = _EXPIRY.match(text.strip())
    if not match:
        return None
    month, year = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        return None
    return (2000 + year if year < 100 else year), month


def verify_card(card: CreditCard, today: date) -> tuple[str, ...]:
    """Format and checksum of the number, expiry in the future (valid through its month), CVV of 3-4 digits."""
    reasons: list[str] = []
    digits = card_digits(card.number)
    if digits is None or not CARD_DIGITS_MIN <= len(digits) <= CARD_DIGITS_MAX:
        reasons.append(
            f"Invalid credit card format: the number must have {CARD_DIGITS_MIN} to {CARD_DIGITS_MAX} digits"
        )
    elif not luhn_valid(digits):
        reasons.append("Invalid credit card number: the check digit is wrong")
    expiry = parse_expiry(card.expiration_date)
    if expiry is None:
        reasons.append("Invalid credit card expiration date: use MM/YY or MM/YYYY")
    elif expiry < (today.year, today.month):
        reasons.append("Credit card has expired")
    if not _CVV.match(card.cvv.strip()):
        reasons.append("Invalid CVV: must be 3 or 4 digits")
    return tuple(reasons)
