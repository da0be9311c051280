"""The capacity benchmark's spread over repeated rounds: each round's knee, their median, and per rate the median
and min–max of each figure over that rate's steps, with the text rows that print them. No I/O.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from bench.core.knee import StepFigures, knee, served_well


@dataclass(frozen=True, slots=True)
class StepSample:
    """The figures of one step that the summary spreads (bench/capacity.py's Step, reduced to numbers)."""

    rate: float  # offered checkouts/s
    p50_ms: float  # checkout latency of the 200s (NaN: no 200 at all)
    p99_ms: float
    answered_per_s: float
    fulfilled_per_s: float  # COMMITTED per second
    cpu_ms_per_order: float  # all processes, idle cost and the bench's polls taken out
    rpc_per_order: float  # gRPC calls served per committed order, all processes
    lag_s: float  # from the step's end until every approved order was final (inf: never)


@dataclass(frozen=True, slots=True)
class Spread:
    median: float
    low: float
    high: float
    count: int  # values that were numbers; NaN (a step with no 200) is left out of all three


def spread(values: Sequence[float]) -> Spread:
    """Median and min–max of the values that are numbers; all NaN when none is."""
    numbers = sorted(v for v in values if not math.isnan(v))
    if not numbers:
        return Spread(math.nan, math.nan, math.nan, 0)
    return Spread(statistics.median(numbers), numbers[0], numbers[-1], len(numbers))


@dataclass(frozen=True, slots=True)
class RateSummary:
    rate: float  # offered checkouts/s
    steps: int  # steps at this rate, one per round
    served_well: int  # of those, steps under both knee bounds (bench/core/knee.py)
    p50_ms: Spread
    p99_ms: Spread
    answered_per_s: Spread
    fulfilled_per_s: Spread
    cpu_ms_per_order: Spread
    rpc_per_order: Spread


def round_knee(steps: Sequence[StepSample]) -> float | None:
    """One round's knee: the rule of bench/core/knee.py over that round's steps only; None when no step passes."""
    found = knee([StepFigures(s.rate, s.p99_ms, s.lag_s) for s in steps])
    return None if found is None else found.rate


def round_knees(rounds: Sequence[Sequence[StepSample]]) -> list[float | None]:
    return [round_knee(steps) for steps in rounds]


def median_knee(knees: Sequence[float | None]) -> float | None:
    """The lower median of the rounds' knees, a round without a knee counting below every rate.

    The lower median, not the mean of the middle two, so the figure is always a rate that was run, and with an even
    count the more cautious one; None when that middle round had no knee."""
    if not knees:
        raise ValueError("median_knee needs at least one round")
    ordered = sorted(knees, key=lambda k: -math.inf if k is None else k)
    return ordered[(len(ordered) - 1) // 2]


def summarize_rate(rate: float, steps: Sequence[StepSample]) -> RateSummary:
    if not steps or any(s.rate != rate for s in steps):
        raise ValueError(f"summarize_rate needs one or more steps, all at {rate}/s")
    return RateSummary(
        rate=rate,
        steps=len(steps),
        served_well=sum(1 for s in steps if served_well(s.p99_ms, s.lag_s)),
        p50_ms=spread([s.p50_ms for s in steps]),
        p99_ms=spread([s.p99_ms for s in steps]),
        answered_per_s=spread([s.answered_per_s for s in steps]),
        fulfilled_per_s=spread([s.fulfilled_per_s for s in steps]),
        cpu_ms_per_order=spread([s.cpu_ms_per_order for s in steps]),
        rpc_per_order=spread([s.rpc_per_order for s in steps]),
    )


def summarize(rounds: Sequence[Sequence[StepSample]]) -> list[RateSummary]:
    """One row per offered rate, in the order the rates were first run; each row spreads that rate's steps of
    every round (a rate listed twice in the ladder is one row)."""
    by_rate: dict[float, list[StepSample]] = {}
    for steps in rounds:
        for step in steps:
            by_rate.setdefault(step.rate, []).append(step)
    return [summarize_rate(rate, steps) for rate, steps in by_rate.items()]


def format_spread(figure: Spread, decimals: int = 1) -> str:
    """'median (min–max)', e.g. '45.0 (40.0–52.5)'; 'n/a' when no step had the figure."""
    if figure.count == 0:
        return "n/a"
    return f"{figure.median:.{decimals}f} ({figure.low:.{decimals}f}–{figure.high:.{decimals}f})"


SUMMARY_COLUMNS = ("p50 ms", "p99 ms", "fulfilled/s", "CPU-ms/order", "gRPC/order")
COLUMN_WIDTH = 24  # wide enough for '1234.5 (1000.0–9999.9)'


def summary_lines(rows: Sequence[RateSummary]) -> list[str]:
    """The summary table: a header, then per rate the median (min–max) of each figure and the rounds served well."""
    header = f"{'rate':>8}  " + "".join(f"{name:<{COLUMN_WIDTH}}" for name in SUMMARY_COLUMNS) + "served well"
    lines = ["per rate over its steps, median (min–max):", header]
    for row in rows:
        figures = (row.p50_ms, row.p99_ms, row.fulfilled_per_s, row.cpu_ms_per_order, row.rpc_per_order)
        cells = "".join(f"{format_spread(figure):<{COLUMN_WIDTH}}" for figure in figures)
        lines.append(f"{row.rate:6.1f}/s  {cells}{row.served_well}/{row.steps}")
    return lines


def format_knee(rate: float | None) -> str:
    return "none" if rate is None else f"{rate:.0f}"


def knee_line(knees: Sequence[float | None]) -> str:
    """'knee: median 20/s (rounds: 20, 30, 20)'; a round with no rate served well shows as 'none'."""
    median = median_knee(knees)
    rounds = ", ".join(format_knee(k) for k in knees)
    return f"knee: median {format_knee(median)}{'' if median is None else '/s'} (rounds: {rounds})"
