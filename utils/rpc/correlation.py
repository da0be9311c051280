"""The correlation id of the request being served, carried across hops as `x-correlation-id`.

A context variable, so it follows the request through the handler and the calls it makes.
"""

from __future__ import annotations

import contextvars
import uuid

METADATA_KEY = "x-correlation-id"
HTTP_HEADER = "X-Correlation-ID"
_MAX_LENGTH = 128

_correlation_id: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="")


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def sanitize(value: str | None) -> str:
    """Accepts a caller's id only if it is short and printable; otherwise makes a new one."""
    if value and len(value) <= _MAX_LENGTH and value.isprintable() and " " not in value:
        return value
    return new_correlation_id()


def current_correlation_id() -> str:
    return _correlation_id.get()


def set_correlation_id(value: str) -> contextvars.Token[str]:
    return _correlation_id.set(value)


def reset_correlation_id(token: contextvars.Token[str]) -> None:
    _correlation_id.reset(token)
