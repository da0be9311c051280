"""The capacity benchmark's spread over repeated rounds (bench/core/spread.py): median and min–max per figure, the
knee of each round and their lower median, and the summary rows. No fleet, no timing.
"""

from __future__ import annotations

import math

import pytest

from bench.core.knee import FINAL_WITHIN_S, P99_KNEE_MS
from bench.core.spread import (
    Spread,
    StepSample,
    format_spread,
    knee_line,
    median_knee,
    round_knee,
    round_knees,
    spread,
    summarize,
    summarize_rate,
    summary_lines,
)


def sample(
    rate: float, p99_ms: float = 100.0, lag_s: float = 1.0, p50_ms: float = 40.0, cpu: float = 30.0
) -> StepSample:
    return StepSample(
        rate=rate,
        p50_ms=p50_ms,
        p99_ms=p99_ms,
        answered_per_s=rate,
        fulfilled_per_s=rate * 0.9,
        cpu_ms_per_order=cpu,
        rpc_per_order=12.0,
        lag_s=lag_s,
    )


GOOD = P99_KNEE_MS - 50
BAD = P99_KNEE_MS + 50

# ---- median and min–max --------------------------------------------------------------------------------------------


def test_spread_is_the_median_and_the_extremes() -> None:
    assert spread([30.0, 10.0, 20.0]) == Spread(20.0, 10.0, 30.0, 3)
    assert spread([10.0, 40.0]) == Spread(25.0, 10.0, 40.0, 2)  # an even count: the mean of the middle two
    assert spread([7.0]) == Spread(7.0, 7.0, 7.0, 1)  # one round: the figure itself


def test_a_step_with_no_figure_is_left_out_of_the_spread() -> None:
    assert spread([math.nan, 10.0, 30.0]) == Spread(20.0, 10.0, 30.0, 2)
    empty = spread([math.nan, math.nan])
    assert empty.count == 0 and math.isnan(empty.median) and math.isnan(empty.low) and math.isnan(empty.high)
    assert spread([]).count == 0


def test_an_infinite_figure_is_kept_as_the_highest() -> None:
    assert spread([1.0, math.inf, 2.0]) == Spread(2.0, 1.0, math.inf, 3)


# ---- the knee of each round and their median -----------------------------------------------------------------------


def test_each_round_has_its_own_knee_by_the_knee_rule() -> None:
    first = [sample(10, GOOD), sample(20, GOOD), sample(30, BAD)]
    second = [sample(10, GOOD), sample(20, GOOD), sample(30, GOOD)]
    third = [sample(10, GOOD), sample(20, GOOD, lag_s=FINAL_WITHIN_S + 1), sample(30, BAD)]
    assert round_knees([first, second, third]) == [20, 30, 10]
    assert round_knee([sample(10, BAD), sample(20, math.nan)]) is None  # NaN p99: no 200 at all


def test_the_median_knee_is_the_lower_median_with_a_missing_knee_lowest() -> None:
    assert median_knee([20, 30, 20]) == 20
    assert median_knee([30, 20]) == 20  # even count: the more cautious of the middle two, a rate that was run
    assert median_knee([10, 20, 30, 40]) == 20
    assert median_knee([None, 30, 20]) == 20
    assert median_knee([None, None, 30]) is None
    assert median_knee([40]) == 40
    with pytest.raises(ValueError):
        median_knee([])


def test_the_knee_line_names_the_median_and_every_round() -> None:
    assert knee_line([20, 30, 20]) == "knee: median 20/s (rounds: 20, 30, 20)"
    assert knee_line([None, 30, None]) == "knee: median none (rounds: none, 30, none)"


# ---- the summary rows ------------------------------------------------------------------------------------------------


def test_a_row_per_rate_spreads_that_rates_steps_of_every_round() -> None:
    rounds = [
        [sample(10, 100, p50_ms=40, cpu=30), sample(20, 200, p50_ms=50, cpu=25)],
        [sample(10, 120, p50_ms=44, cpu=33), sample(20, BAD, p50_ms=90, cpu=28)],
        [sample(10, 110, p50_ms=42, cpu=31), sample(20, 250, p50_ms=60, cpu=26)],
    ]
    rows = summarize(rounds)
    assert [row.rate for row in rows] == [10, 20]
    ten, twenty = rows
    assert ten.steps == 3 and ten.served_well == 3
    assert ten.p99_ms == Spread(110, 100, 120, 3) and ten.p50_ms == Spread(42, 40, 44, 3)
    assert ten.cpu_ms_per_order == Spread(31, 30, 33, 3)
    assert ten.fulfilled_per_s == Spread(9, 9, 9, 3) and ten.rpc_per_order == Spread(12, 12, 12, 3)
    assert twenty.served_well == 2 and twenty.p99_ms == Spread(250, 200, BAD, 3)


def test_rows_keep_the_order_the_rates_were_first_run_and_misuse_is_refused() -> None:
    assert [row.rate for row in summarize([[sample(30), sample(5)], [sample(30), sample(5)]])] == [30, 5]
    assert summarize([]) == []
    with pytest.raises(ValueError):
        summarize_rate(10, [])
    with pytest.raises(ValueError):
        summarize_rate(10, [sample(20)])


def test_the_summary_table_prints_median_and_range_per_rate() -> None:
    assert format_spread(Spread(45.0, 40.0, 52.5, 3)) == "45.0 (40.0–52.5)"
    assert format_spread(Spread(math.nan, math.nan, math.nan, 0)) == "n/a"
    rows = summarize([[sample(10, 100), sample(20, BAD)], [sample(10, 120), sample(20, 200)]])
    title, header, ten, twenty = summary_lines(rows)
    assert "median (min–max)" in title
    assert header.split()[:3] == ["rate", "p50", "ms"] and header.endswith("served well")
    assert ten.startswith("  10.0/s") and "110.0 (100.0–120.0)" in ten and ten.endswith("2/2")
    assert twenty.endswith("1/2")
