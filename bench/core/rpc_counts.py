"""gRPC calls served, by method, from the Prometheus text of each process, and the calls one order costs.

`rpc_server_calls_total{method=...,code=...}` is summed over codes; the per-order figure takes out what the fleet
does with no orders (idle rate × seconds) and what the benchmark itself asked (its status polls).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping

METRIC = "rpc_server_calls_total"
_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(?P<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?P<value>(?:[^"\\]|\\.)*)"')


def short_method(full: str) -> str:
    """'/bookstore.raft.Raft/AppendEntries' → 'Raft/AppendEntries'."""
    service, _, method = full.lstrip("/").rpartition("/")
    return f"{service.rpartition('.')[2]}/{method}" if service else method


def parse_calls(text: str, metric: str = METRIC) -> Counter[str]:
    """Calls served so far by short method name (all status codes), from one process's /metrics text."""
    calls: Counter[str] = Counter()
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None or match["name"] != metric:
            continue
        labels = {m["key"]: m["value"] for m in _LABEL.finditer(match["labels"] or "")}
        calls[short_method(labels.get("method", "?"))] += round(float(match["value"]))
    return calls


def calls_between(before: Counter[str], after: Counter[str]) -> Counter[str]:
    """Calls served between two scrapes of the same process (a restarted process counts from zero)."""
    return Counter({m: after[m] - before.get(m, 0) if after[m] >= before.get(m, 0) else after[m] for m in after})


def per_order(
    served: Mapping[str, Counter[str]],
    orders: int,
    idle_per_s: Mapping[str, Mapping[str, float]] | None = None,
    seconds: float = 0.0,
    bench_calls: Mapping[str, Mapping[str, int]] | None = None,
) -> dict[str, dict[str, float]]:
    """process → method → calls per order: served minus idle rate × seconds minus the benchmark's own calls,
    never below zero; methods that round to nothing are left out."""
    if orders <= 0:
        return {}
    result: dict[str, dict[str, float]] = {}
    for process, calls in served.items():
        idle = (idle_per_s or {}).get(process, {})
        own = (bench_calls or {}).get(process, {})
        figures = {
            method: max(0.0, count - idle.get(method, 0.0) * seconds - own.get(method, 0)) / orders
            for method, count in calls.items()
        }
        kept = {m: v for m, v in figures.items() if v >= 0.005}
        if kept:
            result[process] = dict(sorted(kept.items(), key=lambda item: -item[1]))
    return result


def total_per_order(figures: Mapping[str, Mapping[str, float]]) -> float:
    return sum(sum(methods.values()) for methods in figures.values())
