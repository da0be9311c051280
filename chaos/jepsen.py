"""The run's history as Jepsen writes one (history.edn): an :invoke and a completion (:ok / :fail / :info) per
operation, each with :f, :value, :process, :time (ns since the run started) and :index, so Knossos or Elle can check
the run on their own; the faults as the nemesis's :info operations.

Operations: :checkout (value: the order id, or nil), :read of a book's stock ([book quantity]) and :add of
copies ([book amount]). A checkout approved is :ok; rejected or refused by a 4xx/5xx is :fail (nothing was placed);
no answer is :info (it may have happened). Processes are the run's concurrent clients: each operation goes to the
lowest-numbered client with nothing in flight, and a client whose operation ended :info is never used again
(Jepsen's rule: its process may still be running the operation).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import edn_format

from chaos.records import Observed
from testing.evidence import Answer

NS_PER_S = 1_000_000_000
NEMESIS = "nemesis"


@dataclass(frozen=True, slots=True)
class Operation:
    """One client operation before it is split into Jepsen's two events."""

    f: str
    invoke_value: Any
    value: Any  # the completion's
    kind: str  # ok | fail | info
    invoked_s: float
    completed_s: float
    label: str = ""  # for people (the timeline's tooltip)


@dataclass(frozen=True, slots=True)
class Event:
    type: str  # invoke | ok | fail | info
    f: str
    value: Any
    process: int | str
    time_ns: int
    index: int


def operations(observed: Observed) -> list[Operation]:
    """Every client operation the run recorded, by invocation time."""
    ops: list[Operation] = []
    for c in observed.checkouts:
        kind = {Answer.APPROVED: "ok", Answer.NO_ANSWER: "info"}.get(c.answer, "fail")
        items = [[book, quantity] for book, quantity in c.items]
        ops.append(
            Operation(
                "checkout",
                {"sequence": c.sequence, "items": items},
                c.order_id if kind == "ok" else None,
                kind,
                c.sent_at_s,
                max(c.answered_at_s, c.sent_at_s),
                f"#{c.sequence} {c.answer.value}" + (f" {c.order_id}" if c.order_id else ""),
            )
        )
    for r in observed.stock_reads:
        ops.append(Operation("read", [r.book_id, None], [r.book_id, r.quantity], "ok", r.call_s, r.return_s))
    end_s = max([observed.load_s, *(op.completed_s for op in ops)], default=0.0)
    for s in observed.restocks:
        kind = "ok" if s.acknowledged else ("info" if s.return_s is None else "fail")
        done = s.return_s if s.return_s is not None else max(end_s, s.call_s)
        ops.append(Operation("add", [s.book_id, s.amount], [s.book_id, s.amount], kind, s.call_s, done))
    ops.sort(key=lambda op: (op.invoked_s, op.completed_s))
    return ops


def assign_processes(ops: list[Operation]) -> list[int]:
    """A process per operation: no process has two operations in flight, and one that ended :info is retired."""
    free: list[int] = []  # heap of idle process numbers
    busy: list[tuple[float, int]] = []  # heap of (completion time, process)
    next_process = 0
    assigned: list[int] = []
    retired: set[int] = set()
    for op in ops:
        while busy and busy[0][0] <= op.invoked_s:
            _, process = heapq.heappop(busy)
            if process not in retired:
                heapq.heappush(free, process)
        if free:
            process = heapq.heappop(free)
        else:
            process, next_process = next_process, next_process + 1
        assigned.append(process)
        if op.kind == "info":
            retired.add(process)
        heapq.heappush(busy, (op.completed_s, process))
    return assigned


def events(observed: Observed) -> list[Event]:
    """The history in time order (an invocation before a completion at the same instant), indexed from 0."""
    ops = operations(observed)
    raw: list[tuple[int, int, str, str, Any, int | str]] = []  # (time ns, order, type, f, value, process)
    for op, process in zip(ops, assign_processes(ops), strict=True):
        raw.append((_ns(op.invoked_s), 0, "invoke", op.f, op.invoke_value, process))
        raw.append((_ns(op.completed_s), 1, op.kind, op.f, op.value, process))
    for fault in observed.faults:
        if fault.error:
            continue
        what = f"{fault.event.kind.value}"
        raw.append((_ns(fault.started_at_s), 0, "info", f"start-{what}", fault.node, NEMESIS))
        if fault.healed_at_s is not None:
            raw.append((_ns(fault.healed_at_s), 0, "info", f"stop-{what}", fault.node, NEMESIS))
    raw.sort(key=lambda e: (e[0], e[1]))
    return [Event(t, f, value, process, time_ns, i) for i, (time_ns, _, t, f, value, process) in enumerate(raw)]


def _ns(seconds: float) -> int:
    return max(0, round(seconds * NS_PER_S))


def _edn_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {edn_format.Keyword(str(k)): _edn_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_edn_value(v) for v in value]  # a Python list is an EDN vector (a tuple would be a list)
    return value


def to_edn(history: list[Event]) -> str:
    """One map per line, as Jepsen's history.edn."""
    k = edn_format.Keyword
    lines = []
    for e in history:
        process = k(e.process) if isinstance(e.process, str) else e.process
        entry = {
            k("type"): k(e.type),
            k("f"): k(e.f),
            k("value"): _edn_value(e.value),
            k("process"): process,
            k("time"): e.time_ns,
            k("index"): e.index,
        }
        lines.append(edn_format.dumps(entry))
    return "\n".join(lines) + "\n"


def write_edn(observed: Observed, path: Path) -> None:
    path.write_text(to_edn(events(observed)))
