"""The chaos run's HTML report (self-contained: no script, no outside address; the timeline, both plots with the
fault window shaded, the invariants) and its Jepsen EDN history, parsed back with edn-format and checked against the
run it came from: one invoke and one completion per operation on one process, the types, times in ns, the index."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import edn_format

from chaos.html_report import render_html
from chaos.jepsen import NS_PER_S, Operation, assign_processes, events, to_edn, write_edn
from chaos.records import FaultRecord, Observed
from chaos.report import Report, build_report, render_text
from chaos.scenario import FaultEvent, FaultKind, Options, Role, Target
from testing.evidence import Answer, StatusSample
from tests.chaos.builders import checkout, clean_run

K = edn_format.Keyword


def _run() -> tuple[Observed, Report]:
    """The clean run with two more checkouts in flight together (one refused, one never answered), a leader
    paused from 1.0 s to 2.5 s, and the books' leader moving from books-1 to books-2 in term 3."""
    run, evidence = clean_run()
    extra = (
        checkout(4, None, answer=Answer.REFUSED, sent=1.1, answered=1.4),
        checkout(5, None, answer=Answer.NO_ANSWER, sent=1.15, answered=4.0),
    )
    fault = FaultRecord(
        FaultEvent(1.0, FaultKind.PAUSE, Target("books_database", Role.LEADER), 1.5), "books-1", 1.0, 2.5
    )
    samples = (
        StatusSample(1.0, "books_database", "books-1", "leader", 2, "books-1", 5),
        StatusSample(2.0, "books_database", "books-2", "leader", 3, "books-2", 6),
    )
    run = dataclasses.replace(run, checkouts=run.checkouts + extra, faults=(fault,), status_samples=samples)
    report = build_report(Options(seed=9), "local", run, evidence, [], "linearizable (3 reads, 1 writes)")
    return run, report


def _parse(text: str) -> list[dict[Any, Any]]:
    return [edn_format.loads(line) for line in text.splitlines() if line.strip()]


def test_the_edn_history_parses_back_to_the_runs_operations(tmp_path: Path) -> None:
    run, _ = _run()
    path = tmp_path / "history.edn"
    write_edn(run, path)
    history = _parse(path.read_text())
    assert [e[K("index")] for e in history] == list(range(len(history)))
    times = [e[K("time")] for e in history]
    assert times == sorted(times) and all(isinstance(t, int) for t in times)
    clients = [e for e in history if e[K("process")] != K("nemesis")]
    by_f = Counter((e[K("f")], e[K("type")]) for e in clients)
    assert by_f[(K("checkout"), K("invoke"))] == len(run.checkouts) == 5
    assert by_f[(K("checkout"), K("ok"))] == 2  # o1, o2 approved
    assert by_f[(K("checkout"), K("fail"))] == 2  # r1 rejected, #4 refused
    assert by_f[(K("checkout"), K("info"))] == 1  # #5 never answered
    assert by_f[(K("read"), K("ok"))] == len(run.stock_reads) and by_f[(K("add"), K("ok"))] == 1
    # Every process alternates invoke, completion: never two operations in flight on one process.
    per_process: dict[Any, list[Any]] = defaultdict(list)
    for e in clients:
        per_process[e[K("process")]].append(e[K("type")])
    for types in per_process.values():
        assert types[0::2] == [K("invoke")] * len(types[0::2])
        assert all(t in (K("ok"), K("fail"), K("info")) for t in types[1::2])
    # The approved checkout's completion carries its order id; its invocation, the items; time is ns.
    ok = next(e for e in clients if e[K("type")] == K("ok") and e[K("value")] == "o1")
    checkouts = [e for e in clients if e[K("f")] == K("checkout")]
    invoke = next(e for e in checkouts if e[K("type")] == K("invoke") and e[K("value")][K("sequence")] == 1)
    assert list(invoke[K("value")][K("items")][0]) == ["book_a", 2]
    assert invoke[K("time")] == 1 * NS_PER_S and ok[K("time")] == round(1.2 * NS_PER_S)
    nemesis = [(e[K("f")], e[K("value")], e[K("time")]) for e in history if e[K("process")] == K("nemesis")]
    assert nemesis == [(K("start-pause"), "books-1", NS_PER_S), (K("stop-pause"), "books-1", round(2.5 * NS_PER_S))]


def test_a_process_whose_operation_ended_unknown_is_never_used_again() -> None:
    ops = [
        Operation("checkout", None, None, "info", 0.0, 1.0),
        Operation("checkout", None, None, "ok", 2.0, 3.0),
        Operation("checkout", None, None, "ok", 2.1, 2.2),
        Operation("checkout", None, None, "ok", 2.5, 2.6),
    ]
    assert assign_processes(ops) == [0, 1, 2, 2]  # 0 retired after :info; 2 free again at 2.5


def test_the_edn_of_an_empty_run_is_empty_and_values_are_vectors() -> None:
    run, _ = _run()
    empty = dataclasses.replace(run, checkouts=(), stock_reads=(), restocks=(), faults=())
    assert to_edn(events(empty)) == "\n"
    line = next(line for line in to_edn(events(run)).splitlines() if ":f :read" in line)
    assert re.search(r':value \["book_a" (nil|\d+)\]', line), line


def test_the_html_report_is_self_contained_with_the_timeline_plots_and_invariants() -> None:
    run, report = _run()
    page = render_html(report, run, render_text(report))
    assert page.startswith("<!doctype html>")
    assert "<script" not in page and "<link" not in page and "@import" not in page
    outside = [u for u in re.findall(r"(?:src|href)=\"([^\"]+)\"", page) if not u.startswith(("#", "data:"))]
    assert outside == []
    assert page.count("<svg") == 3  # the timeline, latency, throughput
    for title in ("Operations timeline", "Latency", "Throughput", "Invariants"):
        assert f"<h2>{title}</h2>" in page
    for name, verdict in report.invariants.items():
        assert f"<td>{name}</td>" in page and verdict == "holds"
    assert "pause books-1" in page  # the fault window is labelled in the timeline
    assert "failover books_database" in page and "term 3" in page
    assert "PASSED: every invariant held" in page


def test_a_violated_invariant_is_marked_in_words() -> None:
    run, report = _run()
    bad = dataclasses.replace(report, invariants={**report.invariants, "I1 conservation": "VIOLATED (2)"})
    page = render_html(bad, run, "")
    assert '<td class="violated">VIOLATED (2)</td>' in page
