"""The payment service's own settings: limits, cooperative termination pace, and fault injection (off by default).

Read once in main(); every variable is the field name in upper case.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class PaymentSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    payment_amount_max_cents: int = Field(default=1_000_000, gt=0)  # Prepare above this votes ABORT
    # The card-fingerprint key; empty: its own file, DATA_DIR/payment_service/fingerprint.key (docs/operations.md).
    payment_fingerprint_key: SecretStr = SecretStr("")
    # Cooperative termination: a PREPARED payment with no decision after this long asks the executor group.
    payment_termination_after_s: float = Field(default=3.0, gt=0)
    payment_termination_interval_s: float = Field(default=0.5, gt=0)
    payment_termination_backoff_max_s: float = Field(default=5.0, gt=0)
    payment_termination_batch_max: int = Field(default=100, gt=0)
    # Fault injection, so failure paths can be shown without killing anything.
    payment_decline_percent: float = Field(default=0.0, ge=0, le=100)  # fresh Prepares voting ABORT at random
    payment_delay_ms: int = Field(default=0, ge=0)  # every Prepare waits this long first
    payment_unreachable: bool = False  # 2PC calls answer UNAVAILABLE
