"""What one order costs the executor group's Raft log: entries, AppendEntries calls and CPU per committed order.

Starts the whole local fleet, sends checkouts open loop at one rate, waits until every approved order is final, and
reads, before and after: each executor's commit index (Status), `rpc_server_calls` by method from each executor's
metrics port, and each executor process's CPU (/proc). Load-independent figures first; CPU beside the load average.

    .venv/bin/python -m bench.executor_log_cost [--rate 10] [--seconds 20] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bench.core.rpc_counts import CLIENT_METRIC, METRIC, parse_calls
from bench.metrics_scrape import scrape_text
from testing.fleet_env import FLEET_ENV
from testing.local_fleet import RunningFleet, Shop, running_fleet
from testing.orders import checkout_body, serial_card
from utils.catalog.file import load_catalog

TIMEOUT_S = 10.0
DRAIN_TIMEOUT_S = 90.0
IDLE_S = 5.0  # heartbeats alone, measured before the load
FINAL = {"COMMITTED", "ABORTED", "REJECTED"}
_serial = iter(range(10**9))
_serial_lock = threading.Lock()


def executor_processes(rf: RunningFleet) -> dict[str, int]:
    """Executor process name → pid."""
    return {
        spec.name: rf.fleet.processes[spec.name].pid
        for spec in rf.fleet.specs
        if spec.module == "order_executor" and spec.name in rf.fleet.processes
    }


def rpc_calls(rf: RunningFleet, name: str) -> Counter[str]:
    """rpc_server_calls ("served …") and rpc_client_calls ("made …") by method, all status codes summed, from one
    process's Prometheus endpoint."""
    text = scrape_text(rf, name, TIMEOUT_S)
    calls: Counter[str] = Counter()
    for kind, metric in (("served", METRIC), ("made", CLIENT_METRIC)):
        calls.update({f"{kind} {method}": count for method, count in parse_calls(text, metric).items()})
    return calls


def appends_between(before: dict[str, Counter[str]], after: dict[str, Counter[str]]) -> int:
    """AppendEntries served by all executors between two scrapes."""
    return sum(
        count - before[name].get(method, 0)
        for name in after
        for method, count in after[name].items()
        if method.startswith("served") and method.endswith("AppendEntries")
    )


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def commit_indexes(shop: Shop) -> dict[str, int]:
    return {node: int(s.commit_index) for node, s in shop.executor_status().items() if s is not None}


def open_loop(send: Callable[[], str | None], rate: float, seconds: float) -> list[str]:
    """Checkouts leave at fixed times whatever the answers (the order ids of those approved)."""
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=128) as pool:
        futures = []
        for index in range(max(1, int(rate * seconds))):
            time.sleep(max(0.0, start + index / rate - time.monotonic()))
            futures.append(pool.submit(send))
        return [order_id for f in futures if (order_id := f.result())]


def checkout(api: str, titles: list[str], session: requests.Session) -> str | None:
    with _serial_lock:
        serial = next(_serial)
    body = checkout_body(
        [(titles[serial % len(titles)], 1)],
        by_title=True,
        buyer=f"Log Cost Shopper {serial}",
        contact=f"logcost{serial}@example.com",
        card=serial_card(serial),
    )
    try:
        response = session.post(f"{api}/checkout", data=json.dumps(body), timeout=TIMEOUT_S)
    except requests.RequestException:
        return None
    return str(response.json().get("orderId")) if response.status_code == 200 else None


def wait_final(api: str, order_ids: list[str]) -> Counter[str]:
    session = requests.Session()
    pending, states = set(order_ids), Counter[str]()
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while pending and time.monotonic() < deadline:
        for order_id in sorted(pending):
            state = session.get(f"{api}/orders/{order_id}", timeout=TIMEOUT_S).json().get("state", "")
            if state in FINAL:
                pending.discard(order_id)
                states[state] += 1
        if pending:
            time.sleep(0.2)
    states["NOT FINAL"] = len(pending)
    return states


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=10.0, help="offered checkouts/s")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workdir", default="", help="keep data and logs here (default: a temporary folder)")
    args = parser.parse_args()
    catalog = load_catalog()
    titles = [book.title for book in catalog.books]
    with (
        tempfile.TemporaryDirectory(prefix="logcost-") as scratch,
        running_fleet(Path(args.workdir or scratch), extra_env={**FLEET_ENV, "LOG_LEVEL": "WARNING"}) as rf,
    ):
        shop = Shop(rf)
        per_book = int(args.rate * args.seconds / len(catalog.books)) + 5
        for book in catalog.books:
            requests.post(f"{rf.api}/stock/increment", json={"book_id": book.id, "amount": per_book}, timeout=10)
        warm = open_loop(lambda: checkout(rf.api, titles, requests.Session()), 2.0, 4.0)  # connections, leaders
        wait_final(rf.api, warm)
        time.sleep(1.0)  # batched ENDs of the warm-up reach the log before the figures start
        procs = executor_processes(rf)
        idle_before = {name: rpc_calls(rf, name) for name in procs}
        time.sleep(IDLE_S)
        idle_appends = appends_between(idle_before, {name: rpc_calls(rf, name) for name in procs})
        index_before = commit_indexes(shop)
        started = time.monotonic()
        calls_before = {name: rpc_calls(rf, name) for name in procs}
        cpu_before = {name: cpu_s(pid) for name, pid in procs.items()}
        load_before = os.getloadavg()[0]
        approved = open_loop(lambda: checkout(rf.api, titles, requests.Session()), args.rate, args.seconds)
        states = wait_final(rf.api, approved)
        time.sleep(1.0)  # the last batched ENDs, so both trees are measured to the same quiet end
        cpu_after = {name: cpu_s(pid) for name, pid in procs.items()}
        calls_after = {name: rpc_calls(rf, name) for name in procs}
        index_after = commit_indexes(shop)
        measured_s = time.monotonic() - started
        load_after = os.getloadavg()[0]
        shop.close()
    orders = sum(states[s] for s in ("COMMITTED", "ABORTED"))
    committed = max(1, states["COMMITTED"])
    entries = max(index_after[n] - index_before.get(n, 0) for n in index_after)
    appends = appends_between(calls_before, calls_after)
    cpu_ms = sum(cpu_after[n] - cpu_before[n] for n in procs) * 1000
    print(f"orders final: {dict(states)} (offered {args.rate:g}/s for {args.seconds:g} s)")
    print(f"executor group: {entries / max(1, orders):.2f} Raft entries per order ({entries} for {orders})")
    print(f"executor group: {appends / max(1, orders):.2f} AppendEntries served per order (followers, heartbeats in)")
    print(
        f"  idle fleet: {idle_appends / IDLE_S:.1f} AppendEntries/s (heartbeats); over the {measured_s:.0f} s "
        f"measured is {idle_appends / IDLE_S * measured_s / max(1, orders):.2f} per order (an upper bound: a "
        "heartbeat is skipped while appends flow)"
    )
    print(f"executor processes: {cpu_ms / committed:.1f} CPU-ms per committed order (all three replicas)")
    print(f"load average (1 min): {load_before:.1f} before, {load_after:.1f} after")
    methods = Counter[str]()
    for n in procs:
        for method, count in calls_after[n].items():
            methods[method] += count - calls_before[n].get(method, 0)
    for method, count in methods.most_common():
        if count:
            print(f"  {method}: {count / max(1, orders):.2f} per order")
    return 0


if __name__ == "__main__":
    sys.exit(main())
