"""Failovers are read off the status samples; the report counts what the run did and fails on any violation."""

from __future__ import annotations

import dataclasses

from chaos.failover import failovers
from chaos.report import build_report, percentile, reason_kind, render_text
from chaos.scenario import Options
from testing.evidence import StatusSample
from testing.invariants import Violation
from tests.chaos.builders import clean_run


def round_of(at: float, roles: dict[str, tuple[str, int]]) -> list[StatusSample]:
    return [StatusSample(at, "order_executor", node, role, term, "", 0) for node, (role, term) in roles.items()]


def test_a_failover_lasts_from_the_leader_gone_to_the_new_one_seen() -> None:
    samples = [
        *round_of(1.0, {"e1": ("leader", 1), "e2": ("follower", 1), "e3": ("follower", 1)}),
        *round_of(1.2, {"e1": ("unreachable", 0), "e2": ("follower", 1), "e3": ("follower", 1)}),
        *round_of(1.4, {"e1": ("unreachable", 0), "e2": ("candidate", 2), "e3": ("follower", 1)}),
        *round_of(1.6, {"e1": ("unreachable", 0), "e2": ("leader", 2), "e3": ("follower", 2)}),
        # the old leader wakes up still claiming term 1: the highest term's leader is the leader
        *round_of(1.8, {"e1": ("leader", 1), "e2": ("leader", 2), "e3": ("follower", 2)}),
    ]
    [failover] = failovers(samples)
    assert (failover.old_leader, failover.new_leader, failover.term) == ("e1", "e2", 2)
    assert abs(failover.duration_s - 0.4) < 1e-9


def test_a_steady_leader_is_no_failover() -> None:
    samples = [s for at in (1.0, 1.2, 1.4) for s in round_of(at, {"e1": ("leader", 1), "e2": ("follower", 1)})]
    assert failovers(samples) == []


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([5.0, 1.0, 3.0], 0.5) == 3.0
    assert percentile([float(i) for i in range(1, 101)], 0.99) == 99.0


def test_reason_kind_drops_the_details() -> None:
    assert reason_kind("not enough stock: book_1: 2 asked") == "not enough stock"
    assert reason_kind("") == "(no reason given)"


def test_report_of_a_clean_run_passes_and_counts() -> None:
    run, evidence = clean_run()
    report = build_report(Options(seed=4), "local", run, evidence, [], "linearizable (3 reads, 2 writes)")
    assert report.passed
    assert (report.sent, report.approved, report.rejected, report.committed, report.aborted) == (3, 2, 1, 1, 1)
    assert report.lost == 0 and report.applied_twice == 0 and report.stock_conserved
    assert report.abort_reasons == {"card declined": 1}
    text = render_text(report)
    assert "lost               0" in text and "PASSED" in text and "I7 stock reads linearizable    holds" in text


def test_report_fails_and_counts_violations() -> None:
    run, evidence = clean_run()
    violations = [
        Violation("I3", "o9", "not final 10 s after healing (QUEUED)"),
        Violation("I1", "book_a", "initial 10 + restocked 3 ≠ on hand 9 + committed 2 (off by -2)"),
        Violation("I4", "o1", "captured 4000 cents for a total of 20.00"),
    ]
    report = build_report(Options(), "local", run, dataclasses.replace(evidence), violations, "linearizable")
    assert not report.passed
    assert report.lost == 1 and report.applied_twice == 2 and not report.stock_conserved
    assert report.invariants["I3 nothing lost"] == "VIOLATED (1)"
    assert "FAILED" in render_text(report) and report.to_json()["passed"] is False


def test_fault_lines_show_the_real_start_and_how_long_it_lasted() -> None:
    from chaos.records import FaultRecord
    from chaos.report import fault_line
    from chaos.scenario import FaultEvent, FaultKind, Role, Target

    event = FaultEvent(10.0, FaultKind.PAUSE, Target("books_database", Role.LEADER), 3.0)
    line = fault_line(FaultRecord(event, "books-2", 14.5, 17.6))
    assert line.startswith("  14.5s  pause") and "→ books-2" in line and "3.1 s until healed" in line
    assert "not injected: no leader" in fault_line(FaultRecord(event, "?", 14.5, None, "no leader"))
