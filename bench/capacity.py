"""End-to-end capacity: checkouts sent open loop at rising rates while the executors fulfil them, one fleet.

Starts the whole local fleet, measures the raw gRPC round trip and RPC/s in the same run, then per rate step:
answered/s, checkout p50/p99 (from when each request was due), fulfilled (COMMITTED) per second, the lag until
every approved order is final, answers by status, CPU-ms per order per process (from /proc). The knee is the
highest rate with p99 < 300 ms and every order final within 5 s of the step's end. Prints a table; --plot writes
rate → latency, fulfilled/s and CPU per order as SVG; --profile samples the hottest process at the knee (py-spy).

    .venv/bin/python -m bench.capacity [--rates 5,10,20,30,40] [--step-s 15] [--plot capacity.svg] [--profile]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import requests
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.open_loop import Answer, percentile, run_open_loop
from bench.process_cpu import cpu_snapshot, cpu_used, profile_top
from testing.fleet_env import FLEET_ENV
from testing.local_fleet import RunningFleet, running_fleet
from testing.orders import checkout_body, serial_card
from utils.catalog.file import load_catalog
from utils.rpc.client import call, open_channel

TIMEOUT_S = 10.0
P99_KNEE_MS = 300.0
FINAL_WITHIN_S = 5.0
DRAIN_TIMEOUT_S = 60.0
FINAL_STATES = {"COMMITTED", "ABORTED", "REJECTED"}
_serials = iter(range(10**9))
_serials_lock = threading.Lock()
_sessions = threading.local()


@dataclass(frozen=True, slots=True)
class Step:
    rate: float
    answers: list[Answer]
    answered_per_s: float
    p50_ms: float
    p99_ms: float
    approved: int
    committed: int
    fulfilled_per_s: float
    lag_s: float  # from the step's end until every approved order was final (inf: not within DRAIN_TIMEOUT_S)
    statuses: Counter[int]
    cpu_ms_per_order: dict[str, float]  # process → CPU-ms per committed order, idle cost taken out
    cpu_ms_gross: float  # all CPU of the step (idle heartbeats and polls included) per committed order

    @property
    def at_knee(self) -> bool:
        return self.p99_ms < P99_KNEE_MS and self.lag_s <= FINAL_WITHIN_S

    @property
    def cpu_ms_total(self) -> float:
        return sum(self.cpu_ms_per_order.values())


def _session() -> requests.Session:
    session: requests.Session | None = getattr(_sessions, "session", None)
    if session is None:
        session = requests.Session()
        _sessions.session = session
    return session


def _checkout_sender(api: str, titles: list[str]) -> tuple[int, str | None, bool]:
    with _serials_lock:
        serial = next(_serials)
    body = checkout_body(
        [(titles[serial % len(titles)], 1)],
        by_title=True,
        buyer=f"Capacity Shopper {serial}",
        contact=f"shopper{serial}@example.com",
        card=serial_card(serial),
    )
    try:
        response = _session().post(f"{api}/checkout", data=json.dumps(body), timeout=TIMEOUT_S)
    except requests.RequestException:
        return 0, None, False
    order_id = response.json().get("orderId") if response.status_code == 200 else None
    return response.status_code, order_id, "Retry-After" in response.headers


def raw_grpc(address: str, peer: str, count: int = 400) -> tuple[float, float]:
    """The raw round trip (health Check p50, ms, over the fleet's mutual TLS) and RPC/s of 8 callers on one
    channel, same run."""
    stub = health_pb2_grpc.HealthStub(open_channel(address, peer))
    request = health_pb2.HealthCheckRequest()
    for _ in range(20):
        call(stub.Check, request, timeout_s=TIMEOUT_S)
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call(stub.Check, request, timeout_s=TIMEOUT_S)
        samples.append((time.perf_counter() - started) * 1000)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: call(stub.Check, request, timeout_s=TIMEOUT_S), range(count * 2)))
    return statistics.median(samples), count * 2 / (time.perf_counter() - started)


def add_stock(api: str, books: list[str], per_book: int) -> None:
    session = requests.Session()
    for book_id in books:
        response = session.post(
            f"{api}/stock/increment", json={"book_id": book_id, "amount": per_book}, timeout=TIMEOUT_S
        )
        response.raise_for_status()


def wait_final(api: str, order_ids: list[str], step_started_wall: float) -> tuple[float, int, float]:
    """Polls the orders until all are final: (seconds it took, committed count, fulfilled per second)."""
    started = time.monotonic()
    pending = set(order_ids)
    committed_at: list[float] = []

    def state(order_id: str) -> tuple[str, str, float]:
        body = _session().get(f"{api}/orders/{order_id}", timeout=TIMEOUT_S).json()
        updated = datetime.fromisoformat(body.get("updatedAt", "1970-01-01T00:00:00+00:00")).timestamp()
        return order_id, body.get("state", ""), updated

    with ThreadPoolExecutor(max_workers=16) as pool:
        while pending and time.monotonic() - started < DRAIN_TIMEOUT_S:
            for order_id, order_state, updated in pool.map(state, sorted(pending)):
                if order_state in FINAL_STATES:
                    pending.discard(order_id)
                    if order_state == "COMMITTED":
                        committed_at.append(updated)
            if pending:
                time.sleep(0.2)
    lag = math.inf if pending else time.monotonic() - started
    span = (max(committed_at) - step_started_wall) if committed_at else math.inf
    return lag, len(committed_at), (len(committed_at) / span if span > 0 else 0.0)


def idle_cpu_per_s(rf: RunningFleet, seconds: float = 5.0) -> dict[str, float]:
    """What each process spends per second with no orders at all (heartbeats, leases, health polls)."""
    pids = {name: process.pid for name, process in rf.fleet.processes.items()}
    before = cpu_snapshot(pids)
    time.sleep(seconds)
    return {name: used / seconds for name, used in cpu_used(before, cpu_snapshot(pids)).items()}


def run_step(
    rf: RunningFleet, rate: float, step_s: float, titles: list[str], book_ids: list[str], idle: dict[str, float]
) -> Step:
    add_stock(rf.api, book_ids, math.ceil(rate * step_s / len(book_ids)) + 2)
    pids = {name: process.pid for name, process in rf.fleet.processes.items()}
    before = cpu_snapshot(pids)
    measured_from = time.monotonic()
    started_wall = time.time()
    answers = run_open_loop(lambda: _checkout_sender(rf.api, titles), rate, step_s)
    elapsed = max(a.due + a.latency_s for a in answers) - min(a.due for a in answers)
    approved = [a.order_id for a in answers if a.order_id]
    lag, committed, fulfilled_per_s = wait_final(rf.api, approved, started_wall)
    used = cpu_used(before, cpu_snapshot(pids))
    measured_s = time.monotonic() - measured_from
    orders = max(1, committed)
    latencies = [a.latency_s * 1000 for a in answers if a.status == 200]
    return Step(
        rate=rate,
        answers=answers,
        answered_per_s=sum(1 for a in answers if a.status) / elapsed,
        p50_ms=statistics.median(latencies) if latencies else math.nan,
        p99_ms=percentile(latencies, 0.99),
        approved=len(approved),
        committed=committed,
        fulfilled_per_s=fulfilled_per_s,
        lag_s=lag,
        statuses=Counter(a.status for a in answers),
        cpu_ms_per_order={
            name: max(0.0, seconds - idle.get(name, 0.0) * measured_s) * 1000 / orders for name, seconds in used.items()
        },
        cpu_ms_gross=sum(used.values()) * 1000 / orders,
    )


def print_step(step: Step) -> None:
    statuses = " ".join(f"{code or 'none'}:{n}" for code, n in sorted(step.statuses.items()))
    print(
        f"{step.rate:7.1f}/s  answered {step.answered_per_s:6.1f}/s  p50 {step.p50_ms:7.1f} ms  "
        f"p99 {step.p99_ms:7.1f} ms  fulfilled {step.fulfilled_per_s:6.1f}/s ({step.committed}/{step.approved})  "
        f"lag {step.lag_s:5.1f} s  CPU {step.cpu_ms_total:6.1f} ms/order ({step.cpu_ms_gross:.0f} with idle)  "
        f"[{statuses}]"
        f"{'  ✓ knee' if step.at_knee else ''}",
        flush=True,
    )


def print_cpu(step: Step) -> None:
    print(f"CPU-ms per committed order at {step.rate:.0f}/s, by process (idle cost taken out):")
    for name, ms in sorted(step.cpu_ms_per_order.items(), key=lambda item: -item[1]):
        print(f"  {name:<26} {ms:6.1f}")


def plot(steps: list[Step], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = [s.rate for s in steps]
    figure, (latency, throughput, cpu) = plt.subplots(1, 3, figsize=(15, 4.2))
    latency.plot(rates, [s.p50_ms for s in steps], "o-", label="p50")
    latency.plot(rates, [s.p99_ms for s in steps], "s-", label="p99")
    latency.axhline(P99_KNEE_MS, linestyle=":", color="grey", label=f"{P99_KNEE_MS:.0f} ms")
    latency.set(xlabel="offered checkouts/s", ylabel="checkout latency (ms)", yscale="log", title="Latency")
    latency.legend()
    throughput.plot(rates, rates, ":", color="grey", label="offered")
    throughput.plot(rates, [s.answered_per_s for s in steps], "o-", label="answered")
    throughput.plot(rates, [s.fulfilled_per_s for s in steps], "s-", label="fulfilled (COMMITTED)")
    throughput.set(xlabel="offered checkouts/s", ylabel="per second", title="Throughput")
    throughput.legend()
    cpu.plot(rates, [s.cpu_ms_total for s in steps], "o-")
    cpu.set(xlabel="offered checkouts/s", ylabel="CPU-ms per committed order", title="Cost per order")
    figure.tight_layout()
    figure.savefig(path)
    print(f"plot: {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="5,10,20,30,40", help="offered checkouts/s, one step each")
    parser.add_argument("--step-s", type=float, default=15.0)
    parser.add_argument("--plot", type=Path, default=None, help="write the SVG/PNG plot here")
    parser.add_argument("--profile", action="store_true", help="py-spy the hottest process in one more knee step")
    parser.add_argument("--workdir", default="", help="keep data and logs here (default: a temporary folder)")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    catalog = load_catalog()
    titles = [book.title for book in catalog.books]
    book_ids = [book.id for book in catalog.books]
    env = {**FLEET_ENV, "LOG_LEVEL": "WARNING"}
    with (
        tempfile.TemporaryDirectory(prefix="capacity-") as scratch,
        running_fleet(Path(args.workdir or scratch), extra_env=env, healthy_timeout_s=120) as rf,
    ):
        rtt_ms, rpc_per_s = raw_grpc(rf.settings.payment_service_addr, "payment_service")
        print(f"raw gRPC: health Check p50 {rtt_ms:.2f} ms, {rpc_per_s:.0f} RPC/s (8 callers, one channel)")
        idle = idle_cpu_per_s(rf)
        print(f"idle fleet: {sum(idle.values()) * 1000:.0f} CPU-ms/s in all (heartbeats, leases, health polls)")
        run_step(rf, 2.0, 5.0, titles, book_ids, idle)  # warm-up: connections, leaders, first-call imports
        steps: list[Step] = []
        for rate in rates:
            steps.append(run_step(rf, rate, args.step_s, titles, book_ids, idle))
            print_step(steps[-1])
        knee = max((s for s in steps if s.at_knee), key=lambda s: s.rate, default=None)
        print(f"knee: {f'{knee.rate:.0f} checkouts/s' if knee else 'none (not even the lowest rate)'}")
        print_cpu(knee or steps[0])
        if args.plot is not None:
            plot(steps, args.plot)
        if args.profile:
            basis = knee or steps[0]
            hottest = max(basis.cpu_ms_per_order, key=lambda name: basis.cpu_ms_per_order[name])
            pid = rf.fleet.processes[hottest].pid
            out_dir = Path(args.workdir or scratch) / "profiles"
            profiling = threading.Thread(target=lambda: run_step(rf, basis.rate, args.step_s, titles, book_ids, idle))
            profiling.start()
            top = profile_top(pid, int(args.step_s), out_dir)
            profiling.join()
            print(f"profile of {hottest} (pid {pid}) at {basis.rate:.0f}/s, self time:")
            for frame, share in top:
                print(f"  {share * 100:5.1f}%  {frame}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
