"""The orchestrator's own settings (env prefix ORCHESTRATOR_): the HTTP edge's bounds, deadlines, load shedding,
the operator credential, idempotency bounds.

Read once in main(); addresses come from FleetSettings, process settings from RuntimeSettings. docs/gateway.md
says what each edge setting guards against.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from utils.web.core.admission import derived_in_flight_max


class OrchestratorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORCHESTRATOR_", extra="ignore", frozen=True)

    body_bytes_max: int = Field(default=64 * 1024, ge=1024)  # larger request bodies → 413
    request_line_bytes_max: int = Field(default=8 * 1024, ge=256)  # a longer request target → 414
    header_bytes_max: int = Field(default=16 * 1024, ge=1024)  # more header bytes → 431
    header_timeout_s: float = Field(default=10.0, gt=0)  # request line + headers (and a kept-alive idle connection)
    body_timeout_s: float = Field(default=10.0, gt=0)  # the whole body once the headers are in
    connections_max: int = Field(default=8192, ge=16)  # open HTTP connections; one more is closed at once
    flow_timeout_s: float = Field(default=3.0, gt=0)  # the validation flow's deadline
    # Early load shedding: checkouts in flight beyond this are answered 503 + Retry-After before any work. Unset, it
    # is derived from the validation budget and the capacity below (utils/web/core/admission.py).
    checkouts_in_flight_max: int | None = Field(default=None, ge=1)
    # Checkouts answered per second at the knee on the reference 2-core machine (bench/overload.py).
    checkout_capacity_per_s: float = Field(default=20.0, gt=0)
    shed_retry_after_s: int = Field(default=1, ge=1)
    http_threads: int | None = Field(default=None, ge=1)  # the Flask app's threads; unset = in-flight bound + 8
    request_budget_s: float = Field(default=10.0, gt=0)  # caps every gRPC call an HTTP request makes
    idempotency_keys_max: int = Field(default=10_000, ge=1)  # stored responses; oldest forgotten first
    idempotency_ttl_s: float = Field(default=86_400.0, gt=0)  # a key is remembered this long (Stripe: 24 h)
    probe_timeout_s: float = Field(default=0.5, gt=0)  # health and status probes (/readyz, /cluster)
    # Stock writes (POST /stock/increment) need `Authorization: Bearer <token>` with this token (or the file's
    # content, e.g. a compose or Kubernetes secret); loopback clients are trusted without one while
    # operator_loopback is on (the local fleet's default; compose and the cluster turn it off).
    operator_token: SecretStr = SecretStr("")
    operator_token_file: Path | None = None
    operator_loopback: bool = True

    def in_flight_max(self) -> int:
        if self.checkouts_in_flight_max is not None:
            return self.checkouts_in_flight_max
        return derived_in_flight_max(self.flow_timeout_s, self.checkout_capacity_per_s)

    def app_threads(self) -> int:
        # Admitted checkouts block a thread each; the rest serve reads (/orders, /books, /cluster) meanwhile.
        return self.http_threads if self.http_threads is not None else self.in_flight_max() + 8

    def operator_secret(self) -> str:
        """The operator token: the setting, else the file's first line; "" when neither is set."""
        if self.operator_token.get_secret_value():
            return self.operator_token.get_secret_value()
        if self.operator_token_file is not None:
            # The first line only, as documented: a second line (a comment, a rotated token) is not part of it.
            lines = self.operator_token_file.read_text(encoding="utf-8").strip().splitlines()
            return lines[0].strip() if lines else ""
        return ""
