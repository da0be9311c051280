"""The order queue's hops per order: LeaseBatch/AckBatch calls, the queue's fsyncs, and the idle leader's leasing.

Load-independent figures from one whole local fleet (run it in two worktrees for an A/B):
  - the queue's gRPC calls by method (rpc_server_calls on its metrics port) per order, and per second while idle;
  - the queue's SQLite write commits per order: `order_queue_commits` where the queue exports it, else the write
    calls (Enqueue, RecordRejected, Nack, SetState, AckBatch, LeaseBatch that leased): each is one commit, one fsync;
  - queue and executor CPU-ms per order and the idle fleet's CPU-ms/s (/proc; noisy on a shared machine).

    .venv/bin/python -m bench.queue_hops [--rate 10] [--orders 200] [--idle-s 10]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bench.core.rpc_counts import calls_between, counter_value, parse_calls
from bench.metrics_scrape import scrape_text
from bench.process_cpu import cpu_snapshot, cpu_used
from testing.fleet_env import FLEET_ENV
from testing.local_fleet import RunningFleet, running_fleet
from testing.orders import checkout_body, serial_card
from utils.catalog.file import load_catalog

TIMEOUT_S = 10.0
DRAIN_TIMEOUT_S = 120.0
FINAL = {"COMMITTED", "ABORTED", "REJECTED"}
_QUEUE = "OrderQueue/"
_WRITES = ("Enqueue", "RecordRejected", "Nack", "SetState", "AckBatch")


def _metrics(rf: RunningFleet) -> str:
    return scrape_text(rf, "order_queue", TIMEOUT_S)


def queue_calls(text: str) -> Counter[str]:
    """Queue method → calls served OK, from the Prometheus text."""
    calls = parse_calls(text, code="OK")
    return Counter({m.removeprefix(_QUEUE): n for m, n in calls.items() if m.startswith(_QUEUE)})


def queue_commits(text: str, calls: Counter[str], leases_granted: int) -> tuple[int, str]:
    commits = counter_value(text, "order_queue_commits_total")
    if commits is not None:
        return int(commits), "order_queue_commits"
    return sum(calls[m] for m in _WRITES) + leases_granted, "write calls (no commit counter at this commit)"


def _leases_granted(text: str) -> int:
    return int(counter_value(text, "order_queue_leases_total") or 0)


def _checkout(api: str, titles: list[str], serial: int) -> tuple[int, str | None, bool]:
    body = checkout_body(
        [(titles[serial % len(titles)], 1)],
        by_title=True,
        buyer=f"Hops Shopper {serial}",
        contact=f"hops{serial}@example.com",
        card=serial_card(serial),
    )
    try:
        response = requests.post(f"{api}/checkout", data=json.dumps(body), timeout=TIMEOUT_S)
    except requests.RequestException:
        return 0, None, False
    order_id = response.json().get("orderId") if response.status_code == 200 else None
    return response.status_code, order_id, False


def _wait_final(api: str, order_ids: list[str]) -> int:
    """Waits until every order is final (bounded); returns how many committed. Each poll is one GetOrder."""
    pending, committed, deadline = set(order_ids), 0, time.monotonic() + DRAIN_TIMEOUT_S
    session = requests.Session()
    while pending and time.monotonic() < deadline:
        for order_id in sorted(pending):
            state = session.get(f"{api}/orders/{order_id}", timeout=TIMEOUT_S).json().get("state", "")
            if state in FINAL:
                pending.discard(order_id)
                committed += state == "COMMITTED"
        time.sleep(0.5)
    if pending:
        raise SystemExit(f"{len(pending)} orders not final after {DRAIN_TIMEOUT_S:.0f} s")
    return committed


def _open_loop(api: str, titles: list[str], rate: float, count: int) -> list[tuple[int, str | None, bool]]:
    """`count` checkouts due every 1/rate s, each on its own thread (a slow answer delays no later one)."""
    start = time.monotonic() + 0.05
    with ThreadPoolExecutor(max_workers=64) as pool:
        futures = []
        for i in range(count):
            time.sleep(max(0.0, start + i / rate - time.monotonic()))
            futures.append(pool.submit(_checkout, api, titles, i))
        return [f.result() for f in futures]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=10.0, help="checkouts/s, open loop")
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--idle-s", type=float, default=10.0, help="the idle window (no orders)")
    args = parser.parse_args()
    catalog = load_catalog()
    titles = [book.title for book in catalog.books]
    with (
        tempfile.TemporaryDirectory(prefix="queue-hops-") as scratch,
        running_fleet(Path(scratch), extra_env={**FLEET_ENV, "LOG_LEVEL": "WARNING"}, healthy_timeout_s=120) as rf,
    ):
        session = requests.Session()
        for book in catalog.books:
            session.post(
                f"{rf.api}/stock/increment", json={"book_id": book.id, "amount": args.orders}, timeout=TIMEOUT_S
            ).raise_for_status()
        warm = [o for _, o, _ in (_checkout(rf.api, titles, 10**6 + i) for i in range(5)) if o]
        _wait_final(rf.api, warm)
        time.sleep(2.0)  # let the warm-up's last acks and polls settle before the idle window
        pids = {name: process.pid for name, process in rf.fleet.processes.items()}
        executors = [n for n in pids if n.startswith("executor")]

        text0, cpu0 = _metrics(rf), cpu_snapshot(pids)
        time.sleep(args.idle_s)
        text1, cpu1 = _metrics(rf), cpu_snapshot(pids)
        idle_cpu = cpu_used(cpu0, cpu1)
        # Unary + drops the methods not called in the window, so only those called are printed.
        idle_calls = +calls_between(queue_calls(text0), queue_calls(text1))
        idle_ms_per_s = sum(idle_cpu.values()) * 1000 / args.idle_s
        print(f"idle {args.idle_s:.0f} s: fleet {idle_ms_per_s:.0f} CPU-ms/s; queue calls/s:")
        for method, n in sorted(idle_calls.items()):
            print(f"  {method:<16} {n / args.idle_s:6.2f}")

        answers = _open_loop(rf.api, titles, args.rate, args.orders)
        approved = [order_id for _, order_id, _ in answers if order_id]
        with ThreadPoolExecutor(max_workers=1) as pool:  # one poller: the GetOrder count stays small and known
            committed = pool.submit(_wait_final, rf.api, approved).result()
        time.sleep(1.0)
        text2, cpu2 = _metrics(rf), cpu_snapshot(pids)
        calls = +calls_between(queue_calls(text1), queue_calls(text2))
        commits1, _ = queue_commits(text1, queue_calls(text1), _leases_granted(text1))
        commits2, source = queue_commits(text2, queue_calls(text2), _leases_granted(text2))
        used = cpu_used(cpu1, cpu2)
        orders = max(1, len(approved))
        print(f"{len(answers)} checkouts at {args.rate:.0f}/s: {len(approved)} approved, {committed} committed")
        print("queue calls per approved order (idle calls of the same time not taken out):")
        for method, n in sorted(calls.items()):
            print(f"  {method:<16} {n / orders:6.2f}")
        print(f"queue commits (fsyncs) per approved order: {(commits2 - commits1) / orders:.2f}  [{source}]")
        queue_ms = used.get("order_queue", 0.0) * 1000 / orders
        executor_ms = sum(used.get(n, 0.0) for n in executors) * 1000 / orders
        print(f"CPU-ms per approved order: queue {queue_ms:.1f}, executors {executor_ms:.1f} (gross, idle included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
