"""The refusals a careful client retries under the same Idempotency-Key (409, 429, 502, 503, 504) and their count
by status and problem code: one definition for the chaos tool's load and the container tests' checkouts.

A refusal says the checkout was not placed (or, 409, that its first attempt with this key is still running), so a
retry cannot make a second order; counting them tells a run's readers what the fleet shed or refused meanwhile.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

# 409: the first attempt with this key still runs; 429/503: shed or a dependency down (Retry-After); 502/504: a
# proxy in front of the gateway lost it. 500 is not among them: a server error is a bug to see, not to retry.
RETRIED_STATUSES = frozenset({409, 429, 502, 503, 504})


def is_retried(status: int) -> bool:
    return status in RETRIED_STATUSES


def problem_code(body: Any) -> str:
    """The problem+json answer's machine code ({"error": {"code": ...}}), "" when there is none."""
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("code") or "") if isinstance(error, dict) else ""


def refusal_label(status: int, body: Any) -> str:
    """ "503 DEPENDENCY_UNAVAILABLE": how one refusal is counted."""
    return f"{status} {problem_code(body)}".strip()


def count_refusals(per_checkout: Iterable[Iterable[str]]) -> dict[str, int]:
    """Every checkout's refusal labels counted together, most frequent first."""
    return dict(Counter(label for labels in per_checkout for label in labels).most_common())
