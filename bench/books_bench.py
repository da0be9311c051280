"""Benchmarks the books database on three local processes: DecrementStock/s with p50/p99 latency at 1 and
32 concurrent clients, and the primary's failover time (SIGKILL, and graceful stop with leadership transfer).

Run: .venv/bin/python -m bench.books_bench [--duration-s 5] [--clients 1,32] [--failovers 3]
"""

from __future__ import annotations

import argparse
import signal
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from books_database.client import BooksClient
from testing.local_fleet import RunningFleet, running_fleet
from utils.pb.books_database import books_database_pb2 as pb
from utils.rpc.leader_client import RetryPolicy

BOOK = "book_101_clean_code"
POLL_S = 0.01
FAST_FAILOVER = RetryPolicy(attempt_timeout_s=0.3, backoff_initial_s=0.01, backoff_max_s=0.05)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def throughput(rf: RunningFleet, clients: int, duration_s: float) -> tuple[float, float, float, int]:
    """(decrements/s, p50 ms, p99 ms, failures) with `clients` threads, each with its own client."""
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + duration_s

    def worker() -> None:
        nonlocal failures
        client = BooksClient(rf.settings.database_peers(), timeout_s=5.0)
        mine: list[float] = []
        lost = 0
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                ok = client.decrement_stock(BOOK, 1).success
            except Exception:
                ok = False
            if ok:
                mine.append(time.perf_counter() - started)
            else:
                lost += 1
        client.close()
        with lock:
            latencies.extend(mine)
            failures += lost

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return len(latencies) / elapsed, percentile(latencies, 0.5) * 1e3, percentile(latencies, 0.99) * 1e3, failures


def primary(client: BooksClient, exclude: str = "", newer_than_term: int = 0) -> pb.StatusResponse | None:
    leaders = [
        s
        for n, s in client.status_all(timeout_s=0.3).items()
        if s is not None and n != exclude and s.role == "leader" and s.term > newer_than_term
    ]
    return max(leaders, key=lambda s: s.term) if leaders else None


def wait_until(condition: Callable[[], object], timeout_s: float = 30.0) -> object:
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(POLL_S)
    return value


def failover(rf: RunningFleet, how: str) -> tuple[float, float]:
    """(s until a new primary is elected, s until it acknowledges a write) after the primary is stopped."""
    client = BooksClient(rf.settings.database_peers(), timeout_s=30.0, policy=FAST_FAILOVER)
    old = wait_until(lambda: primary(client))
    assert isinstance(old, pb.StatusResponse)
    client.decrement_stock(BOOK, 1)  # the client knows the old primary
    started = time.monotonic()
    if how == "sigkill":
        rf.fleet.kill(old.node_id)
    else:
        rf.fleet.signal(old.node_id, signal.SIGTERM)  # graceful: hands leadership over before exiting
    served = threading.Event()
    write_s: list[float] = []

    def write() -> None:
        client.decrement_stock(BOOK, 1)
        write_s.append(time.monotonic() - started)
        served.set()

    writer = threading.Thread(target=write)
    writer.start()
    wait_until(lambda: primary(client, exclude=old.node_id, newer_than_term=old.term))
    elected_s = time.monotonic() - started
    writer.join()
    if how != "sigkill":
        rf.fleet.processes[old.node_id].wait(timeout=30)
    rf.fleet.start(old.node_id)
    rf.fleet.wait_healthy([old.node_id], timeout_s=30)
    client.close()
    return elected_s, write_s[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration-s", type=float, default=5.0, help="per concurrency level")
    parser.add_argument("--clients", default="1,32", help="comma-separated concurrency levels")
    parser.add_argument("--failovers", type=int, default=3, help="runs per failover kind")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_fleet(Path(tmp), only={"books_database"}, extra_env={"SHUTDOWN_GRACE_S": "1"}) as rf,
    ):
        setup = BooksClient(rf.settings.database_peers())
        setup.increment_stock(BOOK, 900_000)
        print("books database, 3 replicas on loopback (SQLite WAL, synchronous=FULL)")
        print(f"{'clients':>8} {'decrements/s':>13} {'p50 ms':>8} {'p99 ms':>8} {'failed':>7}")
        for clients in (int(c) for c in args.clients.split(",")):
            rate, p50, p99, failed = throughput(rf, clients, args.duration_s)
            print(f"{clients:>8} {rate:>13.0f} {p50:>8.1f} {p99:>8.1f} {failed:>7}")
        print(f"\nfailover ({args.failovers} runs each): s until a new primary / until it acknowledges a write")
        for how in ("sigkill", "sigterm"):
            runs = [failover(rf, how) for _ in range(args.failovers)]
            elected = [r[0] for r in runs]
            served = [r[1] for r in runs]
            print(
                f"{how:>8}: elected median {statistics.median(elected):.2f} (max {max(elected):.2f}), "
                f"write served median {statistics.median(served):.2f} (max {max(served):.2f})"
            )
        setup.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
