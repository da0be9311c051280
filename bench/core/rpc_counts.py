"""gRPC calls served, by method, from the Prometheus text of each process, and the calls one order costs.

`rpc_server_calls_total{method=...,code=...}` is summed over codes (or read for one code); the per-order figure
takes out what the fleet does with no orders (idle rate × seconds) and what the benchmark itself asked (its status
polls). Any other counter is read by its sample name (`counter_value`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping

METRIC = "rpc_server_calls_total"
CLIENT_METRIC = "rpc_client_calls_total"  # calls made, by method and code
_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(?P<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?P<value>(?:[^"\\]|\\.)*)"')


def short_method(full: str) -> str:
    """'/bookstore.raft.Raft/AppendEntries' → 'Raft/AppendEntries'."""
    service, _, method = full.lstrip("/").rpartition("/")
    return f"{service.rpartition('.')[2]}/{method}" if service else method


def _samples(text: str, name: str) -> Iterator[tuple[dict[str, str], float]]:
    """(labels, value) of each sample named `name` in Prometheus text. Not prometheus_client's parser: a core may
    not import that package (tests/core/test_purity.py; its exposition side serves HTTP from a thread)."""
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is not None and match["name"] == name:
            labels = {m["key"]: m["value"] for m in _LABEL.finditer(match["labels"] or "")}
            yield labels, float(match["value"])


def parse_calls(text: str, metric: str = METRIC, code: str | None = None) -> Counter[str]:
    """Calls so far by short method name, from one process's /metrics text: all status codes summed, or only
    `code`'s (e.g. "OK")."""
    calls: Counter[str] = Counter()
    for labels, value in _samples(text, metric):
        if code is None or labels.get("code") == code:
            calls[short_method(labels.get("method", "?"))] += round(value)
    return calls


def counter_value(text: str, name: str) -> float | None:
    """One counter's value (summed over its label sets) by its exposed sample name, e.g.
    "order_queue_commits_total"; None when the process does not export it (zero is a value)."""
    values = [value for _labels, value in _samples(text, name)]
    return sum(values) if values else None


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
