"""Card tokenization: a card number becomes an opaque token, its last four digits and a keyed fingerprint.

The full number and the CVV are never stored or logged; the token carries only what Prepare needs later.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable

from payment_service.core.ledger import DECLINED_TEST_CARD
from payment_service.store import TokenRecord
from utils.order.order import last4

CARD_DIGITS_MIN, CARD_DIGITS_MAX = 12, 19
_SEPARATORS = re.compile(r"[ \-]")
_EXPIRY = re.compile(r"^(0[1-9]|1[0-2])/(\d{2}|\d{4})$")


class InvalidCard(ValueError):
    """The number or expiry date is malformed; the message never repeats the number."""


def normalise_number(number: str) -> str:
    digits = _SEPARATORS.sub("", number.strip())
    if not digits.isdigit() or not CARD_DIGITS_MIN <= len(digits) <= CARD_DIGITS_MAX:
        raise InvalidCard(f"a card number has {CARD_DIGITS_MIN} to {CARD_DIGITS_MAX} digits")
    return digits


def new_token() -> str:
    return "tok_" + secrets.token_urlsafe(18)


def tokenize(
    number: str,
    expiration_date: str,
    fingerprint_key: bytes,
    order_id: str = "",
    amount_cents_max: int = 0,
    make_token: Callable[[], str] = new_token,
) -> TokenRecord:
    """A fresh token per call (like a card processor's single-use token), bound to one order and the most it may
    hold; the same card keeps its fingerprint."""
    digits = normalise_number(number)
    expiry = expiration_date.strip()
    if expiry and not _EXPIRY.match(expiry):
        raise InvalidCard("expiration date must be MM/YY or MM/YYYY")
    fingerprint = hmac.new(fingerprint_key, digits.encode(), hashlib.sha256).hexdigest()[:32]
    return TokenRecord(
        token=make_token(),
        card_last4=last4(digits),
        fingerprint=fingerprint,
        declined=digits == DECLINED_TEST_CARD,
        expiration_date=expiry,
        order_id=order_id,
        amount_cents_max=amount_cents_max,
    )
