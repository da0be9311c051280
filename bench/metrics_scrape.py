"""Scrapes every process of a running fleet for its gRPC calls served (Prometheus text on its metrics port).

The figures are load-independent: calls per order by method say where the work is, whatever the machine's load.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

from bench.core.rpc_counts import parse_calls
from testing.local_fleet import RunningFleet

SCRAPE_TIMEOUT_S = 2.0


def metrics_port(rf: RunningFleet, name: str) -> int:
    """The process's METRICS_PORT (the harness picks a free one); 0 in its env means gRPC port + 1000."""
    spec = rf.fleet.spec(name)
    port = int(spec.env.get("METRICS_PORT", "0"))
    return port or int(spec.address.rpartition(":")[2]) + 1000


def scrape_text(rf: RunningFleet, name: str, timeout_s: float = SCRAPE_TIMEOUT_S) -> str:
    """One process's Prometheus text, now (raises requests.RequestException when it does not answer)."""
    response = requests.get(f"http://127.0.0.1:{metrics_port(rf, name)}/metrics", timeout=timeout_s)
    response.raise_for_status()
    return response.text


def scrape_calls(rf: RunningFleet) -> dict[str, Counter[str]]:
    """process → calls served by method, now; a process that does not answer (killed) is left out."""

    def one(name: str) -> tuple[str, Counter[str] | None]:
        try:
            text = scrape_text(rf, name)
        except requests.RequestException:
            return name, None
        return name, parse_calls(text)

    names = [n for n, p in rf.fleet.processes.items() if p.poll() is None]
    with ThreadPoolExecutor(max_workers=8) as pool:
        return {name: calls for name, calls in pool.map(one, names) if calls is not None}
