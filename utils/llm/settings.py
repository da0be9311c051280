"""LLM settings from the environment: no OPENAI_API_KEY means the LLM is off.

The timeout and retry budget are capped so an outage never slows a checkout by more than ~2 s.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

LLM_TIMEOUT_S_MAX = 2.0
LLM_RETRIES_MAX = 1


class LlmSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None  # any OpenAI-compatible server; the SDK's default when unset
    openai_model: str = "gpt-4o-mini"
    llm_timeout_s: float = Field(default=LLM_TIMEOUT_S_MAX, gt=0, le=LLM_TIMEOUT_S_MAX)
    llm_retries: int = Field(default=LLM_RETRIES_MAX, ge=0, le=LLM_RETRIES_MAX)

    @property
    def enabled(self) -> bool:
        return self.openai_api_key is not None and bool(self.openai_api_key.get_secret_value())
