"""The seam for an extra fraud assessment after the rules pass (an LLM assessor plugs in here later).

An assessor sees a redacted view of the order, never the card number or CVV; the default approves.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True, slots=True)
class AssessedItem:
    title: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class FraudView:
    """What an assessor may see: no card number beyond its last four digits, no CVV, no name."""

    items: tuple[AssessedItem, ...]
    total: Decimal
    email_domain: str | None
    billing_country: str
    shipping_method: str
    card_last4: str
    card_uses_in_window: int


@dataclass(frozen=True, slots=True)
class Assessment:
    fraudulent: bool
    reason: str  # shown to the shopper when fraudulent
    confidence: float  # 0..1
    source: str  # e.g. "rules", "llm:<model>"

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError("confidence must be within 0..1")
        if self.fraudulent and not self.reason:
            raise ValueError("a fraudulent assessment must say why")


class FraudAssessor(Protocol):
    def assess(self, view: FraudView) -> Assessment:
        """May call out (an LLM); must answer within its own deadline and fail open or closed as it documents."""


class RulesOnlyAssessor:
    """The default: the named rules already ran, nothing more to add."""

    def assess(self, view: FraudView) -> Assessment:
        return Assessment(fraudulent=False, reason="", confidence=1.0, source="rules")
