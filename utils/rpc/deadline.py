"""The remaining time budget of the request being served, so fan-outs pass it on.

The server interceptor records the caller's deadline; clients never wait longer than what remains.
"""

from __future__ import annotations

import contextvars
import time

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("deadline", default=None)


def set_deadline_in(seconds: float | None) -> contextvars.Token[float | None]:
    return _deadline.set(None if seconds is None else time.monotonic() + seconds)


def reset_deadline(token: contextvars.Token[float | None]) -> None:
    _deadline.reset(token)


def remaining_s() -> float | None:
    deadline = _deadline.get()
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def budget_s(timeout_s: float) -> float:
    """The timeout for an outgoing call: the asked timeout, capped by what the caller has left."""
    if timeout_s <= 0:
        raise ValueError("every RPC needs a positive deadline")
    left = remaining_s()
    return timeout_s if left is None else min(timeout_s, left)
