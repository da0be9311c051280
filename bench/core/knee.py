"""The knee rule of the capacity benchmark: the highest offered rate the fleet still serves well.

Served well: checkout p99 under P99_KNEE_MS and every approved order final within FINAL_WITHIN_S of the step's end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

P99_KNEE_MS = 300.0
FINAL_WITHIN_S = 5.0


@dataclass(frozen=True, slots=True)
class StepFigures:
    rate: float  # offered checkouts/s
    p99_ms: float  # checkout latency of the 200s, from when each was due
    lag_s: float  # from the step's end until every approved order was final (inf: never)


def served_well(p99_ms: float, lag_s: float) -> bool:
    # NaN p99 (no 200 at all) compares False: such a step is never at the knee.
    return p99_ms < P99_KNEE_MS and lag_s <= FINAL_WITHIN_S


def knee(steps: Sequence[StepFigures]) -> StepFigures | None:
    """The highest-rate step that is served well, or None."""
    good = [s for s in steps if served_well(s.p99_ms, s.lag_s)]
    return max(good, key=lambda s: s.rate, default=None)
