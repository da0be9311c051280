"""Fraud detection's named rules: disposable e-mail, denied billing country, absurd quantities or totals.

Pure: each rule returns the RuleHit that fired (its name is the metric label, its reason the shopper's
message) or None. Card velocity is in velocity.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from utils.order.order import Address, OrderItem, User, from_cents

# A small, well-known sample of throwaway-mail providers; a real deployment would load a maintained list.
DISPOSABLE_EMAIL_DOMAINS = frozenset(
    {
        "mailinator.com",
        "10minutemail.com",
        "guerrillamail.com",
        "sharklasers.com",
        "tempmail.com",
        "temp-mail.org",
        "trashmail.com",
        "yopmail.com",
        "throwawaymail.com",
        "getnada.com",
        "dispostable.com",
        "maildrop.cc",
        "fakeinbox.com",
    }
)


@dataclass(frozen=True, slots=True)
class RuleHit:
    rule: str  # stable name, e.g. "disposable_email": a metric label and a log field
    reason: str  # what the shopper sees


@dataclass(frozen=True, slots=True)
class FraudLimits:
    units_max: int = 200  # copies in one order, all items together
    order_total_max: Decimal = Decimal("10000")  # catalog value of one order
    denied_countries: frozenset[str] = frozenset({"north korea", "kp", "prk"})  # casefolded names or codes
    disposable_domains: frozenset[str] = field(default=DISPOSABLE_EMAIL_DOMAINS)


def email_domain(contact: str) -> str | None:
    local, at, domain = contact.strip().rpartition("@")
    return domain.casefold().rstrip(".") if at and local and domain else None


def disposable_email(user: User, limits: FraudLimits) -> RuleHit | None:
    domain = email_domain(user.contact)
    if domain is None:
        return None
    # A subdomain of a throwaway provider is throwaway too (e.g. eu.mailinator.com).
    if any(domain == d or domain.endswith("." + d) for d in limits.disposable_domains):
        return RuleHit("disposable_email", "Fraud check failed: disposable e-mail addresses are not accepted")
    return None


def denied_country(address: Address, limits: FraudLimits) -> RuleHit | None:
    if address.country.strip().casefold() in limits.denied_countries:
        return RuleHit("denied_country", "Fraud check failed: we cannot ship to or bill this country")
    return None


def order_total(items: tuple[OrderItem, ...]) -> Decimal:
    """The catalog value of the order, from the prices resolved at checkout; unknown books count as zero
    (verification rejects them earlier)."""
    cents = sum(item.unit_price_cents * max(item.quantity, 0) for item in items if item.found)
    return from_cents(cents)


def absurd_order(items: tuple[OrderItem, ...], limits: FraudLimits) -> RuleHit | None:
    units = sum(max(item.quantity, 0) for item in items)
    if units > limits.units_max:
        return RuleHit("absurd_quantity", f"Fraud check failed: more than {limits.units_max} copies in one order")
    if order_total(items) > limits.order_total_max:
        return RuleHit("absurd_total", f"Fraud check failed: order total above {limits.order_total_max}")
    return None


def check_user_data(user: User, address: Address, limits: FraudLimits) -> RuleHit | None:
    """Event d: who is buying and where the card is billed."""
    return disposable_email(user, limits) or denied_country(address, limits)
