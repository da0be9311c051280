"""The orchestrator's own settings (env prefix ORCHESTRATOR_): body limit, deadlines, idempotency bounds.

Read once in main(); addresses come from FleetSettings, process settings from RuntimeSettings.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class OrchestratorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORCHESTRATOR_", extra="ignore", frozen=True)

    body_bytes_max: int = Field(default=64 * 1024, ge=1024)  # larger request bodies → 413
    flow_timeout_s: float = Field(default=3.0, gt=0)  # the validation flow's deadline
    request_budget_s: float = Field(default=10.0, gt=0)  # caps every gRPC call an HTTP request makes
    idempotency_keys_max: int = Field(default=10_000, ge=1)  # stored responses; oldest forgotten first
    idempotency_ttl_s: float = Field(default=86_400.0, gt=0)  # a key is remembered this long (Stripe: 24 h)
    probe_timeout_s: float = Field(default=0.5, gt=0)  # health and status probes (/readyz, /cluster)
