"""The frontend's own settings, beyond the fleet's shared addresses.

Read once in main(); env var = field name uppercased.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class FrontendSettings(BaseSettings):
    """How the page behaves: how often it polls, and for how long it watches one order."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    frontend_cluster_poll_ms: int = Field(default=1000, ge=200)
    frontend_order_poll_ms: int = Field(default=500, ge=100)
    frontend_order_watch_s: float = Field(default=120.0, gt=0)
