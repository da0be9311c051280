"""fraud_detection's own settings: card velocity, order-size limits, the billing-country deny list.

Read once in main() from FRAUD_* variables.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from fraud_detection.core.rules import FraudLimits


class FraudSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRAUD_", extra="ignore", frozen=True)

    card_uses_max: int = Field(default=20, ge=1)  # FRAUD_CARD_USES_MAX: uses of one card allowed per window
    card_window_s: float = Field(default=60.0, gt=0)  # FRAUD_CARD_WINDOW_S
    cards_max: int = Field(default=100_000, ge=1)  # FRAUD_CARDS_MAX: cards remembered for velocity
    units_max: int = Field(default=200, ge=1)  # FRAUD_UNITS_MAX: copies in one order
    order_total_max: Decimal = Field(default=Decimal("10000"), gt=0)  # FRAUD_ORDER_TOTAL_MAX
    denied_countries: str = "KP,PRK,North Korea"  # FRAUD_DENIED_COUNTRIES: comma-separated names or codes
    llm_reject_confidence_min: float = Field(default=0.8, ge=0, le=1)  # FRAUD_LLM_REJECT_CONFIDENCE_MIN

    def limits(self) -> FraudLimits:
        denied = frozenset(c.strip().casefold() for c in self.denied_countries.split(",") if c.strip())
        return FraudLimits(units_max=self.units_max, order_total_max=self.order_total_max, denied_countries=denied)
