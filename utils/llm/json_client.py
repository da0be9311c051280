"""Asks a chat model for one JSON object that matches a pydantic model, via the OpenAI SDK.

Every failure becomes an LlmUnavailable with a kind (off, timeout, HTTP error, rate limit, bad JSON).
"""

from __future__ import annotations

import enum
import json
import logging
import time
from typing import TypeVar

import openai
from pydantic import BaseModel, ValidationError

from utils.llm.settings import LlmSettings
from utils.telemetry import meter

log = logging.getLogger(__name__)
Answer = TypeVar("Answer", bound=BaseModel)


class FailureKind(enum.Enum):
    OFF = "off"  # no API key: the LLM is not configured
    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"  # HTTP 429
    SERVER_ERROR = "server_error"  # HTTP 5xx or another API error
    UNREACHABLE = "unreachable"  # connection refused / reset
    INVALID_ANSWER = "invalid_answer"  # not JSON, or JSON of the wrong shape


class LlmUnavailable(Exception):
    def __init__(self, kind: FailureKind, detail: str) -> None:
        super().__init__(f"{kind.value}: {detail}")
        self.kind = kind


RETRY_BUDGET_MIN_S = 0.2  # a retry with less time than this left could not succeed; don't try it
_RETRYABLE = (FailureKind.RATE_LIMITED, FailureKind.SERVER_ERROR, FailureKind.UNREACHABLE)


class JsonChatClient:
    """One client per service. `ask` blocks for at most `llm_timeout_s` in all, its one retry included:
    an LLM outage slows a checkout by at most that, never by timeout × attempts."""

    def __init__(self, settings: LlmSettings, service: str) -> None:
        self.settings = settings
        self.service = service
        m = meter("utils.llm")
        self._calls = m.create_counter("llm_calls", unit="1", description="LLM calls by outcome")
        self._latency = m.create_histogram("llm_call_duration", unit="s", description="LLM call latency")
        self._client: openai.OpenAI | None = None
        if settings.enabled:
            assert settings.openai_api_key is not None
            self._client = openai.OpenAI(
                api_key=settings.openai_api_key.get_secret_value(),
                base_url=settings.openai_base_url,
                timeout=settings.llm_timeout_s,
                max_retries=0,
            )  # retries are ours, inside the one time budget
            log.info(
                "LLM on",
                extra={
                    "model": settings.openai_model,
                    "base_url": settings.openai_base_url or "default",
                    "timeout_s": settings.llm_timeout_s,
                    "retries": settings.llm_retries,
                },
            )
        else:
            log.info("LLM off: OPENAI_API_KEY is not set; rules and the catalog decide")

    @property
    def enabled(self) -> bool:
        return self._client is not None

    def ask(self, system: str, user: str, answer_type: type[Answer]) -> Answer:
        if self._client is None:
            raise LlmUnavailable(FailureKind.OFF, "OPENAI_API_KEY is not set")
        deadline = time.monotonic() + self.settings.llm_timeout_s
        for attempt in range(self.settings.llm_retries + 1):
            try:
                return self._ask_once(system, user, answer_type, deadline - time.monotonic())
            except LlmUnavailable as failure:
                left_s = deadline - time.monotonic()
                if (
                    failure.kind not in _RETRYABLE
                    or attempt == self.settings.llm_retries
                    or left_s < RETRY_BUDGET_MIN_S
                ):
                    raise
                log.info("LLM call failed, retrying once", extra={"cause": failure.kind.value})
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _ask_once(self, system: str, user: str, answer_type: type[Answer], timeout_s: float) -> Answer:
        assert self._client is not None
        started = time.perf_counter()
        outcome = "ok"
        try:
            completion = self._client.with_options(timeout=max(timeout_s, 0.01)).chat.completions.create(
                model=self.settings.openai_model,
                messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
                response_format={
                    "type": "json_schema",
                    "json_schema": {
                        "name": answer_type.__name__,
                        "strict": True,
                        "schema": _strict_schema(answer_type),
                    },
                },
                temperature=0,
            )
            content = completion.choices[0].message.content if completion.choices else None
            if not content:
                raise LlmUnavailable(FailureKind.INVALID_ANSWER, "empty answer")
            return answer_type.model_validate(json.loads(content))
        except LlmUnavailable as failure:
            outcome = failure.kind.value
            raise
        except (json.JSONDecodeError, ValidationError) as error:
            outcome = FailureKind.INVALID_ANSWER.value
            raise LlmUnavailable(FailureKind.INVALID_ANSWER, type(error).__name__) from error
        except openai.APITimeoutError as error:
            outcome = FailureKind.TIMEOUT.value
            raise LlmUnavailable(FailureKind.TIMEOUT, f"no answer within {self.settings.llm_timeout_s} s") from error
        except openai.RateLimitError as error:
            outcome = FailureKind.RATE_LIMITED.value
            raise LlmUnavailable(FailureKind.RATE_LIMITED, "HTTP 429") from error
        except openai.APIConnectionError as error:
            outcome = FailureKind.UNREACHABLE.value
            raise LlmUnavailable(FailureKind.UNREACHABLE, type(error).__name__) from error
        except openai.APIError as error:
            outcome = FailureKind.SERVER_ERROR.value
            raise LlmUnavailable(FailureKind.SERVER_ERROR, type(error).__name__) from error
        finally:
            self._calls.add(1, {"service": self.service, "outcome": outcome})
            self._latency.record(time.perf_counter() - started, {"service": self.service})


def _strict_schema(answer_type: type[BaseModel]) -> dict[str, object]:
    """OpenAI's strict mode wants every property required and no extra properties."""
    schema = answer_type.model_json_schema()
    schema["additionalProperties"] = False
    schema["required"] = list(schema.get("properties", {}))
    return schema
