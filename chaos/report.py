"""The run's report: what was sent and what became of it, the invariants' verdicts, throughput, latency and
failovers — as data (`Report`, JSON-ready) and as the text a person reads at the end of `make chaos`.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from chaos.failover import Failover, failovers
from chaos.records import FaultRecord, Observed
from chaos.scenario import FaultKind, Options
from testing.evidence import Answer, Evidence
from testing.invariants import NAMES, Violation, final_state
from testing.retried_refusals import count_refusals

VIOLATIONS_SHOWN_MAX = 20


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
    return ordered[rank]


@dataclass(frozen=True, slots=True)
class Report:
    seed: int
    fleet: str
    duration_s: float
    rate_per_s: float
    sent: int
    approved: int
    rejected: int
    refused: int  # 4xx/5xx: not placed (a dependency was down)
    no_answer: int
    committed: int
    aborted: int
    abort_reasons: dict[str, int]
    lost: int  # approved and never final (must be 0)
    applied_twice: int  # (must be 0)
    stock_conserved: bool
    throughput_per_s: float  # answered checkouts per second of load
    committed_per_s: float
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    failovers: list[dict[str, Any]]
    faults: list[str]
    invariants: dict[str, str]  # "I1 conservation" → "holds" | "VIOLATED (n)"
    violations: list[str]
    linearizability: str
    skipped_ticks: int
    restocks: str  # "acknowledged/sent"
    notes: list[str] = field(default_factory=list)
    refused_retried: dict[str, int] = field(default_factory=dict)  # refusals met before a retry, by status and code

    @property
    def passed(self) -> bool:
        return not self.violations

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def build_report(
    options: Options,
    fleet: str,
    observed: Observed,
    evidence: Evidence,
    violations: list[Violation],
    linearizability: str,
) -> Report:
    answers = Counter(c.answer for c in observed.checkouts)
    finals = Counter(final_state(observed, c.order_id or "") for c in observed.approved())
    reasons = Counter(
        reason_kind(observed.last_state(c.order_id or "").reason)  # type: ignore[union-attr]
        for c in observed.approved()
        if final_state(observed, c.order_id or "") == "ABORTED"
    )
    answered = [c for c in observed.checkouts if c.answer in (Answer.APPROVED, Answer.REJECTED)]
    # Throughput counts the load's own checkouts, not the last-copies burst sent after it.
    in_load = [c for c in answered if c.sequence <= observed.load_sequence_max]
    latencies_ms = [(c.answered_at_s - c.sent_at_s) * 1000 for c in in_load]
    by_invariant = Counter(v.invariant for v in violations)
    load_s = max(observed.load_s, 1e-9)
    found: list[Failover] = failovers(observed.status_samples)
    return Report(
        seed=options.seed,
        fleet=fleet,
        duration_s=round(observed.load_s, 1),
        rate_per_s=options.load.rate_per_s,
        sent=len(observed.checkouts),
        approved=answers[Answer.APPROVED],
        rejected=answers[Answer.REJECTED],
        refused=answers[Answer.REFUSED],
        no_answer=answers[Answer.NO_ANSWER],
        committed=finals["COMMITTED"],
        aborted=finals["ABORTED"],
        abort_reasons=dict(reasons.most_common(8)),
        lost=sum(1 for v in violations if v.invariant == "I3" and v.detail.startswith("not final")),
        applied_twice=by_invariant["I4"] + sum(1 for v in violations if v.invariant == "I1" and "off by -" in v.detail),
        stock_conserved=by_invariant["I1"] == 0,
        throughput_per_s=round(len(in_load) / load_s, 2),
        committed_per_s=round(finals["COMMITTED"] / load_s, 2),
        latency_p50_ms=_round(percentile(latencies_ms, 0.50)),
        latency_p99_ms=_round(percentile(latencies_ms, 0.99)),
        failovers=[
            {
                "group": f.group,
                "from": f.old_leader,
                "to": f.new_leader,
                "term": f.term,
                "at_s": round(f.gone_at_s, 1),
                "duration_s": round(f.duration_s, 2),
            }
            for f in found
        ],
        faults=[fault_line(r) for r in observed.faults],
        invariants={
            f"{key} {name}": ("holds" if not by_invariant[key] else f"VIOLATED ({by_invariant[key]})")
            for key, name in NAMES.items()
        },
        violations=[v.describe() for v in violations],
        linearizability=linearizability,
        skipped_ticks=observed.skipped_ticks,
        restocks=f"{sum(r.acknowledged for r in observed.restocks)}/{len(observed.restocks)}",
        notes=list(evidence.notes),
        refused_retried=count_refusals(c.refused for c in observed.checkouts),
    )


def reason_kind(reason: str) -> str:
    """ "not enough stock: book_1: 2 asked" → "not enough stock": the kind, without the order's details."""
    return reason.split(":")[0].strip() or "(no reason given)"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def fault_line(record: FaultRecord) -> str:
    """When it really started (seconds into the run, as the failovers), what it hit, and for how long."""
    event = record.event
    head = f"{record.started_at_s:6.1f}s  {event.kind.value:<7} {str(event.target):<24}"
    if record.error:
        return f"{head} [not injected: {record.error}]"
    lasted = "" if record.healed_at_s is None else f", {record.healed_at_s - record.started_at_s:.1f} s until healed"
    how = "graceful restarts in turn" if event.kind is FaultKind.ROLL else f"held {event.hold_s:.1f} s"
    return f"{head} → {record.node} ({how}{lasted})"


def render_text(report: Report) -> str:
    lines = [
        f"chaos run: seed {report.seed}, {report.fleet} fleet, {report.duration_s:.0f} s at {report.rate_per_s:g}/s",
        "",
        f"orders sent        {report.sent}",
        f"  approved         {report.approved}",
        f"  rejected         {report.rejected}",
        f"  refused (4xx/5xx) {report.refused}",
        f"  no answer        {report.no_answer}",
        f"refused, retried   {_reasons(report.refused_retried) if report.refused_retried else 'none'}",
        f"committed          {report.committed}",
        f"aborted            {report.aborted}"
        + (f"  ({_reasons(report.abort_reasons)})" if report.abort_reasons else ""),
        f"lost               {report.lost}   (must be 0)",
        f"applied twice      {report.applied_twice}   (must be 0)",
        f"stock conserved    {'yes' if report.stock_conserved else 'NO'}",
        f"throughput         {report.throughput_per_s:.2f} checkouts/s answered, "
        f"{report.committed_per_s:.2f} commits/s",
        f"latency            p50 {_ms(report.latency_p50_ms)}, p99 {_ms(report.latency_p99_ms)}",
        f"restocks           {report.restocks} acknowledged",
        f"stock reads        {report.linearizability}",
    ]
    if report.skipped_ticks:
        lines.append(f"load fell behind   {report.skipped_ticks} checkouts not sent (too many in flight)")
    lines += ["", f"faults ({len(report.faults)}; times in seconds since the run started)"] + [
        f"  {f}" for f in report.faults
    ]
    lines += [
        "",
        f"failovers ({len(report.failovers)}; leader gone → new leader seen, 0.00 s = handed over between two samples)",
    ] + [
        f"  {f['at_s']:6.1f}s  {f['group']:<15} {f['from']} → {f['to']} (term {f['term']}) in {f['duration_s']:.2f} s"
        for f in report.failovers
    ]
    lines += ["", "invariants"] + [f"  {name:<30} {verdict}" for name, verdict in report.invariants.items()]
    if report.violations:
        lines += ["", f"violations ({len(report.violations)})"] + [
            f"  {v}" for v in report.violations[:VIOLATIONS_SHOWN_MAX]
        ]
        if len(report.violations) > VIOLATIONS_SHOWN_MAX:
            lines.append(f"  … and {len(report.violations) - VIOLATIONS_SHOWN_MAX} more (see the JSON report)")
    if report.notes:
        lines += ["", "notes"] + [f"  {n}" for n in report.notes]
    lines += ["", "PASSED: every invariant held" if report.passed else "FAILED: an invariant was violated"]
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} ms"


def _reasons(reasons: dict[str, int]) -> str:
    return ", ".join(f"{reason[:40]}: {count}" for reason, count in reasons.items())
