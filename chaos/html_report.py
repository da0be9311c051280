"""The run's report as one self-contained HTML page (no script, no stylesheet or font from anywhere else): an
operations timeline per client, latency and throughput over time with each fault's window shaded and each failover
marked, and the invariants table. The plots are matplotlib SVG, inlined; outcomes differ by marker and line style as
well as colour, so the page reads without colour.
"""

from __future__ import annotations

import html
import io
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: SVG to a buffer
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from chaos.jepsen import Operation, assign_processes, operations  # noqa: E402
from chaos.records import Observed  # noqa: E402
from chaos.report import Report  # noqa: E402

# outcome → (colour, marker, line style, words)
STYLE = {
    "ok": ("#17663a", "o", "-", "ok (approved)"),
    "fail": ("#b3261e", "x", "--", "failed (rejected or refused: nothing placed)"),
    "info": ("#b36b00", "d", ":", "unknown (no answer)"),
}
FAULT_COLOURS = ("#7f7f7f", "#1f5fbf", "#8e44ad", "#16a085", "#c0392b")
CLIENTS_DRAWN_MAX = 64  # lanes in the timeline; operations of later clients are folded into the last lane


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prologue and doctype: inline in HTML


def _shade(ax: Axes, observed: Observed, report: Report, label: bool) -> None:
    kinds = sorted({f.event.kind.value for f in observed.faults if not f.error})
    for fault in observed.faults:
        if fault.error:
            continue
        colour = FAULT_COLOURS[kinds.index(fault.event.kind.value) % len(FAULT_COLOURS)]
        end = fault.healed_at_s if fault.healed_at_s is not None else max(observed.load_s, fault.started_at_s)
        ax.axvspan(fault.started_at_s, end, color=colour, alpha=0.15, hatch="//", linewidth=0)
        if label:
            ax.text(
                fault.started_at_s,
                1.0,
                f"{fault.event.kind.value} {fault.node}",
                transform=ax.get_xaxis_transform(),
                fontsize=7,
                rotation=90,
                va="top",
                ha="right",
            )
    for failover in report.failovers:
        ax.axvline(float(failover["at_s"]), color="#1d2330", linestyle="-.", linewidth=1)
        if label:
            ax.text(
                float(failover["at_s"]),
                0.0,
                f"failover {failover['group']} → {failover['to']} (term {failover['term']})",
                transform=ax.get_xaxis_transform(),
                fontsize=7,
                rotation=90,
                va="bottom",
                ha="left",
            )


def timeline_svg(observed: Observed, report: Report) -> str:
    ops = [op for op in operations(observed) if op.f == "checkout"]
    processes = assign_processes(ops)
    lanes = len(set(processes))
    figure, ax = plt.subplots(figsize=(10, max(2.5, min(lanes, CLIENTS_DRAWN_MAX) * 0.18 + 1.2)))
    seen: set[str] = set()
    for op, process in zip(ops, processes, strict=True):
        lane = min(process, CLIENTS_DRAWN_MAX - 1)
        colour, marker, style, words = STYLE[op.kind]
        ax.plot(
            [op.invoked_s, op.completed_s],
            [lane, lane],
            color=colour,
            linestyle=style,
            linewidth=2,
            marker=marker,
            markevery=[1],
            markersize=4,
            label=words if op.kind not in seen else None,
        )
        seen.add(op.kind)
    _shade(ax, observed, report, label=True)
    ax.set_xlabel("seconds since the run started")
    ax.set_ylabel("client")
    ax.set_title("Checkouts per client: from sent to answered")
    ax.invert_yaxis()
    if seen:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3, fontsize=8)
    return _svg(figure)


def latency_svg(observed: Observed, report: Report) -> str:
    ops = [op for op in operations(observed) if op.f == "checkout"]
    figure, ax = plt.subplots(figsize=(10, 3.2))
    for kind, (colour, marker, _style, words) in STYLE.items():
        chosen: list[Operation] = [op for op in ops if op.kind == kind]
        if chosen:
            ax.scatter(
                [op.completed_s for op in chosen],
                [(op.completed_s - op.invoked_s) * 1000 for op in chosen],
                s=10,
                color=colour,
                marker=marker,
                label=words,
            )
    _shade(ax, observed, report, label=False)
    ax.set_yscale("symlog", linthresh=100)
    ax.set_xlabel("seconds since the run started (when answered)")
    ax.set_ylabel("latency, ms")
    ax.set_title("Latency of each checkout (shaded: a fault's window; dash-dot: a failover)")
    if ops:
        ax.legend(fontsize=8)
    return _svg(figure)


def throughput_svg(observed: Observed, report: Report) -> str:
    ops = [op for op in operations(observed) if op.f == "checkout"]
    end = int(max([observed.load_s, *(op.completed_s for op in ops)], default=0.0)) + 1
    figure, ax = plt.subplots(figsize=(10, 3.0))
    seconds = list(range(end))
    for kind, (colour, marker, style, words) in STYLE.items():
        per_second = Counter(int(op.completed_s) for op in ops if op.kind == kind)
        ax.plot(
            seconds,
            [per_second.get(s, 0) for s in seconds],
            color=colour,
            linestyle=style,
            marker=marker,
            markersize=3,
            label=words,
        )
    _shade(ax, observed, report, label=False)
    ax.set_xlabel("seconds since the run started")
    ax.set_ylabel("answers per second")
    ax.set_title("Throughput: checkouts answered each second, by outcome")
    ax.legend(fontsize=8)
    return _svg(figure)


CSS = """
body { font-family: system-ui, sans-serif; margin: 1rem auto; max-width: 70rem; padding: 0 1rem; color: #1d2330; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
td, th { border-bottom: 1px solid #d5d9e1; padding: 0.2rem 0.6rem; text-align: left; }
.holds { color: #17663a; } .violated { color: #b3261e; font-weight: 700; }
figure { margin: 1rem 0; overflow-x: auto; } svg { max-width: 100%; height: auto; }
.verdict { font-size: 1.2rem; font-weight: 700; }
"""


def _table(rows: list[tuple[str, str]], head: tuple[str, str], css: dict[str, str] | None = None) -> str:
    body = "".join(
        f'<tr><td>{html.escape(a)}</td><td class="{(css or {}).get(b, "")}">{html.escape(b)}</td></tr>' for a, b in rows
    )
    return f"<table><thead><tr><th>{head[0]}</th><th>{head[1]}</th></tr></thead><tbody>{body}</tbody></table>"


def render_html(report: Report, observed: Observed, text: str) -> str:
    verdicts = [(name, "holds" if v == "holds" else v) for name, v in report.invariants.items()]
    css = {v: ("holds" if v == "holds" else "violated") for _, v in verdicts}
    summary = [
        ("orders sent", str(report.sent)),
        (
            "approved / rejected / refused / no answer",
            f"{report.approved} / {report.rejected} / {report.refused} / {report.no_answer}",
        ),
        ("committed / aborted", f"{report.committed} / {report.aborted}"),
        ("lost (must be 0)", str(report.lost)),
        ("applied twice (must be 0)", str(report.applied_twice)),
        ("throughput", f"{report.throughput_per_s:.2f} checkouts/s answered, {report.committed_per_s:.2f} commits/s"),
        ("latency p50 / p99", f"{report.latency_p50_ms} ms / {report.latency_p99_ms} ms"),
        ("stock reads", report.linearizability),
    ]
    faults = "".join(f"<li><code>{html.escape(f)}</code></li>" for f in report.faults) or "<li>none</li>"
    failovers = (
        "".join(
            f"<li>{f['at_s']} s: {html.escape(str(f['group']))} {html.escape(str(f['from']))} → "
            f"{html.escape(str(f['to']))} (term {f['term']}) in {f['duration_s']} s</li>"
            for f in report.failovers
        )
        or "<li>none</li>"
    )
    verdict = "PASSED: every invariant held" if report.passed else "FAILED: an invariant was violated"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Chaos run, seed {report.seed}</title><style>{CSS}</style></head>
<body>
<h1>Chaos run: seed {report.seed}, {html.escape(report.fleet)} fleet, {report.duration_s:.0f} s at
{report.rate_per_s:g}/s</h1>
<p class="verdict {"holds" if report.passed else "violated"}">{verdict}</p>
<h2>Invariants</h2>
{_table(verdicts, ("invariant", "verdict"), css)}
<h2>Summary</h2>
{_table(summary, ("what", "figure"))}
<h2>Operations timeline</h2>
<figure>{timeline_svg(observed, report)}</figure>
<h2>Latency</h2>
<figure>{latency_svg(observed, report)}</figure>
<h2>Throughput</h2>
<figure>{throughput_svg(observed, report)}</figure>
<h2>Faults</h2><ul>{faults}</ul>
<h2>Failovers</h2><ul>{failovers}</ul>
<h2>The text report</h2>
<pre>{html.escape(text)}</pre>
</body></html>
"""


def write_html(report: Report, observed: Observed, text: str, path: Path) -> None:
    path.write_text(render_html(report, observed, text))
