"""The benchmarks' pure arithmetic (bench/core/): the knee rule, gRPC calls per order from Prometheus text, the
profile's components, the queue's drain after a spike and the failover's resumption. No fleet, no timing.
"""

from __future__ import annotations

import math
from collections import Counter

import pytest

from bench.core.drain import DepthSample, drain, percentile_int
from bench.core.failover import longest_pause
from bench.core.knee import FINAL_WITHIN_S, P99_KNEE_MS, StepFigures, knee, served_well
from bench.core.profile_components import OTHER, by_component, parse_raw, self_time, stack_component
from bench.core.rpc_counts import (
    CLIENT_METRIC,
    calls_between,
    counter_value,
    parse_calls,
    per_order,
    short_method,
    total_per_order,
)

# ---- the knee ----------------------------------------------------------------------------------------------------


def test_a_step_is_served_well_only_under_both_bounds() -> None:
    assert served_well(P99_KNEE_MS - 1, FINAL_WITHIN_S)
    assert not served_well(P99_KNEE_MS, 0.0)  # the p99 bound is strict
    assert not served_well(10.0, FINAL_WITHIN_S + 0.1)
    assert not served_well(math.nan, 0.0)  # no 200 at all
    assert not served_well(10.0, math.inf)  # orders never final


def test_the_knee_is_the_highest_rate_served_well_even_past_a_bad_step() -> None:
    steps = [StepFigures(5, 60, 1), StepFigures(10, 80, 2), StepFigures(20, 400, 2), StepFigures(30, 250, 9)]
    found = knee(steps)
    assert found is not None and found.rate == 10
    # A noisy lower step does not hide a good higher one: the rule is per step.
    assert knee([StepFigures(5, 900, 1), StepFigures(10, 80, 1)]) == StepFigures(10, 80, 1)
    assert knee([StepFigures(5, 900, 1)]) is None


# ---- gRPC calls per order ---------------------------------------------------------------------------------------

METRICS = """# HELP rpc_server_calls_total gRPC calls served, by method and status code
# TYPE rpc_server_calls_total counter
rpc_server_calls_total{code="OK",method="/bookstore.raft.Raft/AppendEntries",service="books"} 120.0
rpc_server_calls_total{code="UNAVAILABLE",method="/bookstore.raft.Raft/AppendEntries",service="books"} 3.0
rpc_server_calls_total{code="OK",method="/bookstore.books_database.BooksDatabase/PrepareTransaction"} 10.0
rpc_server_duration_seconds_count{method="/bookstore.raft.Raft/AppendEntries",service="books"} 123.0
rpc_client_calls_total{code="OK",method="/bookstore.raft.Raft/AppendEntries"} 999.0
"""


def test_calls_are_summed_over_codes_of_the_server_counter_only() -> None:
    calls = parse_calls(METRICS)
    assert calls == Counter({"Raft/AppendEntries": 123, "BooksDatabase/PrepareTransaction": 10})
    assert short_method("/grpc.health.v1.Health/Check") == "Health/Check"


def test_calls_of_one_code_and_calls_made() -> None:
    assert parse_calls(METRICS, code="OK") == Counter(
        {"Raft/AppendEntries": 120, "BooksDatabase/PrepareTransaction": 10}
    )
    assert parse_calls(METRICS, code="UNAVAILABLE") == Counter({"Raft/AppendEntries": 3})
    assert parse_calls(METRICS, CLIENT_METRIC) == Counter({"Raft/AppendEntries": 999})


# As the OTel Prometheus reader writes them: a counter's sample is its name with `_total`, labelled by its scope.
QUEUE_METRICS = """# HELP order_queue_commits_total SQLite write transactions committed (each one fsync of the WAL)
# TYPE order_queue_commits_total counter
order_queue_commits_total{otel_scope_name="order_queue",otel_scope_schema_url="",otel_scope_version=""} 412.0
# HELP order_queue_outcomes_total final outcomes, by state
# TYPE order_queue_outcomes_total counter
order_queue_outcomes_total{otel_scope_name="order_queue",state="COMMITTED"} 90.0
order_queue_outcomes_total{otel_scope_name="order_queue",state="ABORTED"} 10.0
order_queue_leases_total 0.0
"""


def test_a_counter_is_read_by_its_sample_name_summed_over_its_label_sets() -> None:
    assert counter_value(QUEUE_METRICS, "order_queue_commits_total") == 412.0
    assert counter_value(QUEUE_METRICS, "order_queue_outcomes_total") == 100.0
    # Zero is a value; a counter the process does not export is None (the bench falls back to counting writes).
    assert counter_value(QUEUE_METRICS, "order_queue_leases_total") == 0.0
    assert counter_value(QUEUE_METRICS, "order_queue_depth") is None
    assert counter_value(QUEUE_METRICS, "order_queue_commits") is None  # the sample name, not the family's


def test_calls_between_scrapes_and_a_restarted_process_counting_from_zero() -> None:
    before = Counter({"Raft/AppendEntries": 100, "Raft/RequestVote": 5})
    after = Counter({"Raft/AppendEntries": 130, "Raft/RequestVote": 2})  # restarted: 2 since the restart
    assert calls_between(before, after) == Counter({"Raft/AppendEntries": 30, "Raft/RequestVote": 2})


def test_per_order_takes_out_idle_traffic_and_the_benchmarks_own_polls() -> None:
    served = {
        "books-2": Counter({"Raft/AppendEntries": 520}),
        "order_queue": Counter({"OrderQueue/GetOrder": 400, "OrderQueue/Enqueue": 100}),
    }
    idle = {"books-2": {"Raft/AppendEntries": 10.0}}  # heartbeats: 10/s
    figures = per_order(served, 100, idle, seconds=12.0, bench_calls={"order_queue": {"OrderQueue/GetOrder": 400}})
    assert figures == {"books-2": {"Raft/AppendEntries": 4.0}, "order_queue": {"OrderQueue/Enqueue": 1.0}}
    assert total_per_order(figures) == 5.0
    # More idle than served is no negative cost; no orders, no figures.
    assert per_order(served, 100, idle, seconds=100.0)["order_queue"] == {
        "OrderQueue/GetOrder": 4.0,
        "OrderQueue/Enqueue": 1.0,
    }
    assert "books-2" not in per_order(served, 100, idle, seconds=100.0)
    assert per_order(served, 0) == {}


# ---- profile components -----------------------------------------------------------------------------------------


def test_a_sample_is_charged_to_the_innermost_frame_with_a_component() -> None:
    thread = "thread (0x7f01)"
    raft_lock = [thread, "run (utils/raft/driver.py:120)", "notify (threading.py:382)"]
    assert stack_component(raft_lock) == "raft"  # stdlib's threading is charged to its caller
    ours = [
        thread,
        "_serve (grpc/_server.py:1314)",
        "Prepare (books_database/server.py:88)",
        "dumps (json/__init__.py:231)",
    ]
    assert stack_component(ours) == "our code"
    native = [thread, "_append (utils/raft/storage.py:203)", "pysqlite_connection_execute (connection.c.h:708)"]
    assert stack_component(native) == "sqlite"
    assert stack_component([thread, "_blocking (grpc/_channel.py:1152)"]) == "grpc"
    assert stack_component([thread, "_worker (concurrent/futures/thread.py:81)"]) == OTHER
    assert stack_component(["emit (opentelemetry/sdk/metrics/_internal/instrument.py:9)"]) == "opentelemetry"


def test_components_and_self_time_from_raw_stacks() -> None:
    raw = [
        "thread (0x1);run (utils/raft/driver.py:120);notify (threading.py:382) 6",
        "thread (0x1);_blocking (grpc/_channel.py:1152) 3",
        "thread (0x1);get (flask/app.py:10) 1",
        "not a sample line",
    ]
    stacks = parse_raw(raw)
    assert len(stacks) == 3
    shares = by_component(stacks)
    assert shares == pytest.approx({"raft": 0.6, "grpc": 0.3, "web": 0.1})
    assert list(shares) == ["raft", "grpc", "web"]  # largest first
    assert self_time(stacks, top=1) == [("notify (threading.py:382)", 0.6)]


# ---- the queue's drain ------------------------------------------------------------------------------------------


def test_drain_after_a_spike_that_reached_the_bound() -> None:
    samples = [DepthSample(t, d) for t, d in [(0, 1), (5, 2), (10, 40), (15, 60), (20, 60), (22, 30), (24, 2), (26, 1)]]
    result = drain(samples, spike_end_s=20.0, baseline=2, depth_max=60)
    assert (result.peak, result.peak_at_s, result.bound_reached) == (60, 15, True)
    assert result.drained_after_s == 4.0
    assert result.drained_after_peak_s == 24 - 15  # the first sample of the peak (15 s) to the first at baseline
    assert result.drain_rate_per_s == pytest.approx((60 - 2) / 4.0)


def test_a_backlog_that_never_drains_and_one_that_never_formed() -> None:
    stuck = [DepthSample(t, 50) for t in range(0, 40, 5)]
    result = drain(stuck, spike_end_s=20.0, baseline=2, depth_max=60)
    assert not result.bound_reached and result.drained_after_s == math.inf and result.drain_rate_per_s == 0.0
    assert result.drained_after_peak_s == math.inf
    calm = drain([DepthSample(t, 1) for t in range(30)], spike_end_s=20.0, baseline=2, depth_max=60)
    assert calm.drained_after_s == 0.0
    assert drain([], 20.0, 2, 60).peak == 0
    assert percentile_int([1, 1, 1, 1, 1, 1, 1, 1, 1, 9], 0.9) == 9
    assert percentile_int([], 0.9) == 0


# ---- failover ---------------------------------------------------------------------------------------------------


def test_the_longest_pause_around_the_kill_includes_the_gap_over_the_kill_itself() -> None:
    commits = [9.0, 9.6, 10.1, 11.8, 12.0, 12.2, 30.0]
    # 9.6 → 10.1 spans the kill; 10.1 → 11.8 is the outage; 12.2 → 30.0 starts after a 2 s window, not a 30 s one.
    assert longest_pause(commits, killed_at=10.0, window_s=2.0) == pytest.approx(1.7)
    assert longest_pause(commits, killed_at=10.0, window_s=30.0) == pytest.approx(17.8)
    assert longest_pause([12.5], killed_at=10.0, window_s=10.0) == pytest.approx(2.5)  # nothing before the kill
    assert longest_pause([1.0], killed_at=10.0, window_s=10.0) == math.inf
