"""Early load shedding as a plain counter: at most `limit` requests of a kind in flight; the next one is refused
at once (503 + Retry-After) instead of queueing behind work the service cannot finish within its budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


def derived_in_flight_max(budget_s: float, capacity_per_s: float) -> int:
    """Little's law: with `capacity_per_s` answered per second, the last of n admitted requests waits about
    n / capacity_per_s. Admitting at most half the budget's worth leaves the other half for the request's own
    work, so what is admitted finishes before its deadline instead of timing out after the work was spent."""
    if budget_s <= 0 or capacity_per_s <= 0:
        raise ValueError("the budget and the capacity must be positive")
    return max(1, math.ceil(capacity_per_s * budget_s / 2))


@dataclass(slots=True)
class AdmissionBound:
    """Not thread-safe by design: the server's event loop is its only caller (admit and leave alike)."""

    limit: int
    in_flight: int = 0
    admitted: int = 0
    refused: int = field(default=0)

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError("the admission limit must be at least 1")

    def try_enter(self) -> bool:
        if self.in_flight >= self.limit:
            self.refused += 1
            return False
        self.in_flight += 1
        self.admitted += 1
        return True

    def leave(self) -> None:
        if self.in_flight <= 0:
            raise RuntimeError("leave() without a matching try_enter()")
        self.in_flight -= 1
