"""End-to-end capacity: checkouts sent open loop at rising rates while the executors fulfil them, one fleet.

Starts the whole local fleet, measures the raw gRPC round trip and RPC/s in the same run, then per rate step:
answered/s, checkout p50/p99 (from when each request was due), fulfilled (COMMITTED) per second, the lag until
every approved order is final, answers by status, CPU-ms per order per process (from /proc) and gRPC calls per
order by method (each process's rpc_server_calls). The benchmark's own status polls (GET /orders → GetOrder) are
counted and their cost, measured before the steps, is taken out of both. The knee is the highest rate with
p99 < 300 ms and every order final within 5 s of the step's end (bench/core/knee.py). Prints a table; --plot
writes rate → latency, fulfilled/s and CPU per order as SVG; --profile samples the three hottest processes at the
knee with py-spy --gil (Python CPU only) and sums their samples by component (bench/core/profile_components.py).
--repeat N runs the whole ladder N times in the same fleet (one step per rate is too noisy to quote a knee): each
round's knee, then per rate the median and min–max of its N steps and the rounds' median knee
(bench/core/spread.py); --plot then draws the medians with a min–max band, and --profile runs once, after the last
round, at the median knee.

    .venv/bin/python -m bench.capacity [--rates 5,10,20,30,40] [--step-s 15] [--repeat 1] [--replicas 3|5]
        [--plot capacity.svg] [--profile [--profile-s 20] [--native]]
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
from typing import TYPE_CHECKING

import requests
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.core.knee import P99_KNEE_MS, served_well
from bench.core.profile_components import by_component, parse_raw, self_time
from bench.core.rpc_counts import calls_between, per_order, total_per_order
from bench.core.spread import (
    RateSummary,
    Spread,
    StepSample,
    format_knee,
    knee_line,
    median_knee,
    round_knee,
    round_knees,
    summarize,
    summary_lines,
)
from bench.metrics_scrape import scrape_calls
from bench.open_loop import Answer, Reply, percentile, run_open_loop
from bench.process_cpu import cpu_snapshot, cpu_used, profile_raw
from bench.stamp import stamp
from testing.fleet_env import FLEET_ENV, REPLICA_COUNTS, REPLICAS_DEFAULT
from testing.local_fleet import RunningFleet, running_fleet
from testing.orders import checkout_body, serial_card
from utils.catalog.file import load_catalog
from utils.rpc.client import call, open_channel

if TYPE_CHECKING:
    from matplotlib.axes import Axes

TIMEOUT_S = 10.0
DRAIN_TIMEOUT_S = 60.0
POLL_EVERY_S = 0.5  # between rounds of status polls: each poll costs the gateway and the queue a request
POLL_CALIBRATION = 200  # polls whose CPU is measured before the steps, to take the bench's own cost out
PROFILED_PROCESSES = 3
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
    rpc_per_order: dict[str, dict[str, float]]  # process → method → gRPC calls served per committed order
    polls: int  # GET /orders the benchmark made while waiting (taken out of the CPU and call figures)

    @property
    def at_knee(self) -> bool:
        return served_well(self.p99_ms, self.lag_s)

    @property
    def cpu_ms_total(self) -> float:
        return sum(self.cpu_ms_per_order.values())

    def sample(self) -> StepSample:
        """The figures the summary over rounds spreads (bench/core/spread.py)."""
        return StepSample(
            rate=self.rate,
            p50_ms=self.p50_ms,
            p99_ms=self.p99_ms,
            answered_per_s=self.answered_per_s,
            fulfilled_per_s=self.fulfilled_per_s,
            cpu_ms_per_order=self.cpu_ms_total,
            rpc_per_order=total_per_order(self.rpc_per_order),
            lag_s=self.lag_s,
        )


def _session() -> requests.Session:
    session: requests.Session | None = getattr(_sessions, "session", None)
    if session is None:
        session = requests.Session()
        _sessions.session = session
    return session


def checkout_sender(api: str, titles: list[str]) -> Reply:
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
        return Reply(0)
    try:
        answer = response.json() if response.content else {}
    except ValueError:  # not JSON (a proxy's page): the status is what counts
        answer = {}
    return Reply(
        response.status_code,
        answer.get("orderId") if response.status_code == 200 else None,
        "Retry-After" in response.headers,
        "" if response.status_code == 200 else str((answer.get("error") or {}).get("code", "")),
    )


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


@dataclass(frozen=True, slots=True)
class Finals:
    lag_s: float  # from the call until every order was final (inf: not within DRAIN_TIMEOUT_S)
    committed_at: list[float]  # wall-clock updatedAt of each COMMITTED order
    polls: int  # GET /orders made
    fulfilled_per_s: float  # committed / (last commit − step start)


def wait_final(api: str, order_ids: list[str], step_started_wall: float) -> Finals:
    """Polls the orders (POLL_EVERY_S between rounds) until all are final."""
    started = time.monotonic()
    pending = set(order_ids)
    committed_at: list[float] = []
    polls = 0

    def state(order_id: str) -> tuple[str, str, float]:
        body = _session().get(f"{api}/orders/{order_id}", timeout=TIMEOUT_S).json()
        updated = datetime.fromisoformat(body.get("updatedAt", "1970-01-01T00:00:00+00:00")).timestamp()
        return order_id, body.get("state", ""), updated

    with ThreadPoolExecutor(max_workers=16) as pool:
        while pending and time.monotonic() - started < DRAIN_TIMEOUT_S:
            polls += len(pending)
            for order_id, order_state, updated in pool.map(state, sorted(pending)):
                if order_state in FINAL_STATES:
                    pending.discard(order_id)
                    if order_state == "COMMITTED":
                        committed_at.append(updated)
            if pending:
                time.sleep(POLL_EVERY_S)
    lag = math.inf if pending else time.monotonic() - started
    span = (max(committed_at) - step_started_wall) if committed_at else math.inf
    return Finals(lag, committed_at, polls, len(committed_at) / span if span > 0 else 0.0)


@dataclass(frozen=True, slots=True)
class Baseline:
    """What the fleet costs with no orders, and what one status poll of the benchmark costs, per process."""

    cpu_per_s: dict[str, float]
    rpc_per_s: dict[str, dict[str, float]]
    cpu_per_poll: dict[str, float]

    def cpu_s(self, name: str, seconds: float, polls: int) -> float:
        return self.cpu_per_s.get(name, 0.0) * seconds + self.cpu_per_poll.get(name, 0.0) * polls


def pids_of(rf: RunningFleet) -> dict[str, int]:
    return {name: process.pid for name, process in rf.fleet.processes.items() if process.poll() is None}


def measure_baseline(rf: RunningFleet, order_id: str, seconds: float = 5.0) -> Baseline:
    """Idle cost (heartbeats, leases, health polls) per second, then the CPU of POLL_CALIBRATION status polls of
    one final order (the benchmark's own GET /orders) with the idle cost of that time taken out."""
    pids = pids_of(rf)
    before, calls_before = cpu_snapshot(pids), scrape_calls(rf)
    time.sleep(seconds)
    calls_after = scrape_calls(rf)
    idle = {name: used / seconds for name, used in cpu_used(before, cpu_snapshot(pids)).items()}
    rpc_idle = {
        name: {m: n / seconds for m, n in calls_between(calls_before.get(name, Counter()), calls).items()}
        for name, calls in calls_after.items()
    }
    before, started = cpu_snapshot(pids), time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(
            pool.map(
                lambda _: _session().get(f"{rf.api}/orders/{order_id}", timeout=TIMEOUT_S), range(POLL_CALIBRATION)
            )
        )
    spent_s = time.monotonic() - started
    per_poll = {
        name: max(0.0, used - idle.get(name, 0.0) * spent_s) / POLL_CALIBRATION
        for name, used in cpu_used(before, cpu_snapshot(pids)).items()
    }
    return Baseline(idle, rpc_idle, per_poll)


def run_step(
    rf: RunningFleet, rate: float, step_s: float, titles: list[str], book_ids: list[str], baseline: Baseline
) -> Step:
    add_stock(rf.api, book_ids, math.ceil(rate * step_s / len(book_ids)) + 2)
    pids = pids_of(rf)
    before, calls_before = cpu_snapshot(pids), scrape_calls(rf)
    measured_from = time.monotonic()
    started_wall = time.time()
    answers = run_open_loop(lambda: checkout_sender(rf.api, titles), rate, step_s)
    elapsed = max(a.due + a.latency_s for a in answers) - min(a.due for a in answers)
    approved = [a.order_id for a in answers if a.order_id]
    finals = wait_final(rf.api, approved, started_wall)
    used = cpu_used(before, cpu_snapshot(pids))
    served = {name: calls_between(calls_before.get(name, Counter()), calls) for name, calls in scrape_calls(rf).items()}
    measured_s = time.monotonic() - measured_from
    committed = len(finals.committed_at)
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
        fulfilled_per_s=finals.fulfilled_per_s,
        lag_s=finals.lag_s,
        statuses=Counter(a.status for a in answers),
        cpu_ms_per_order={
            name: max(0.0, seconds - baseline.cpu_s(name, measured_s, finals.polls)) * 1000 / orders
            for name, seconds in used.items()
        },
        cpu_ms_gross=sum(used.values()) * 1000 / orders,
        # Each status poll is one GetOrder on the queue (orchestrator/views/orders.py).
        rpc_per_order=per_order(
            served, committed, baseline.rpc_per_s, measured_s, {"order_queue": {"OrderQueue/GetOrder": finals.polls}}
        ),
        polls=finals.polls,
    )


def print_step(step: Step) -> None:
    statuses = " ".join(f"{code or 'none'}:{n}" for code, n in sorted(step.statuses.items()))
    print(
        f"{step.rate:7.1f}/s  answered {step.answered_per_s:6.1f}/s  p50 {step.p50_ms:7.1f} ms  "
        f"p99 {step.p99_ms:7.1f} ms  fulfilled {step.fulfilled_per_s:6.1f}/s ({step.committed}/{step.approved})  "
        f"lag {step.lag_s:5.1f} s  CPU {step.cpu_ms_total:6.1f} ms/order ({step.cpu_ms_gross:.0f} with idle)  "
        f"[{statuses}]"
        f"  rpc {total_per_order(step.rpc_per_order):5.1f}/order"
        f"{'  ✓ knee' if step.at_knee else ''}",
        flush=True,
    )


def print_cpu(step: Step) -> None:
    print(f"CPU-ms per committed order at {step.rate:.0f}/s, by process (idle cost taken out):")
    for name, ms in sorted(step.cpu_ms_per_order.items(), key=lambda item: -item[1]):
        print(f"  {name:<26} {ms:6.1f}")


def print_rpc(step: Step, top: int = 25) -> None:
    """gRPC calls per committed order by serving process and method (idle traffic and the bench's polls out)."""
    rows = [(n, process, method) for process, methods in step.rpc_per_order.items() for method, n in methods.items()]
    total = total_per_order(step.rpc_per_order)
    print(f"gRPC calls served per committed order at {step.rate:.0f}/s: {total:.1f} in all ({step.polls} polls out)")
    for n, process, method in sorted(rows, reverse=True)[:top]:
        print(f"  {n:6.2f}  {process:<26} {method}")


def profile_hottest(
    rf: RunningFleet,
    basis: Step,
    step_s: float,
    titles: list[str],
    book_ids: list[str],
    baseline: Baseline,
    out_dir: Path,
    native: bool,
) -> None:
    """py-spy --gil on the PROFILED_PROCESSES hottest processes at once, during one more step at `basis.rate`:
    per process, the share of Python CPU by component and the hottest functions (self time)."""
    hottest = sorted(basis.cpu_ms_per_order, key=lambda name: -basis.cpu_ms_per_order[name])[:PROFILED_PROCESSES]
    pids = {name: rf.fleet.processes[name].pid for name in hottest}
    load = threading.Thread(target=lambda: run_step(rf, basis.rate, step_s, titles, book_ids, baseline))
    load.start()
    with ThreadPoolExecutor(max_workers=len(pids)) as pool:
        raws = dict(
            zip(
                pids,
                pool.map(lambda pid: profile_raw(pid, int(step_s), out_dir, native=native), pids.values()),
                strict=True,
            )
        )
    load.join()
    for name, raw in raws.items():
        stacks = parse_raw(raw.read_text().splitlines())
        samples = sum(count for _, count in stacks)
        print(f"profile of {name} (pid {pids[name]}) at {basis.rate:.0f}/s, GIL held, {samples} samples ({raw}):")
        print("  by component: " + ", ".join(f"{c} {share * 100:.0f}%" for c, share in by_component(stacks).items()))
        for frame, share in self_time(stacks, top=8):
            print(f"  {share * 100:5.1f}%  {frame}")


def draw_medians(
    axes: Axes, rates: list[float], figures: list[Spread], style: str, band: bool, label: str = ""
) -> None:
    """The medians as a line; with `band`, the min–max over the rounds shaded behind it in the line's colour."""
    (line,) = axes.plot(rates, [f.median for f in figures], style, label=label or None)
    if band:
        axes.fill_between(
            rates, [f.low for f in figures], [f.high for f in figures], color=line.get_color(), alpha=0.2, linewidth=0
        )


def plot(rows: list[RateSummary], path: Path, band: bool) -> None:
    """Rate → latency, throughput and CPU per order: the medians over the rounds (with one round, the figures
    themselves), and with `band` their min–max."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = [row.rate for row in rows]
    figure, (latency, throughput, cpu) = plt.subplots(1, 3, figsize=(15, 4.2))
    draw_medians(latency, rates, [row.p50_ms for row in rows], "o-", band, "p50")
    draw_medians(latency, rates, [row.p99_ms for row in rows], "s-", band, "p99")
    latency.axhline(P99_KNEE_MS, linestyle=":", color="grey", label=f"{P99_KNEE_MS:.0f} ms")
    latency.set(xlabel="offered checkouts/s", ylabel="checkout latency (ms)", yscale="log", title="Latency")
    latency.legend()
    throughput.plot(rates, rates, ":", color="grey", label="offered")
    draw_medians(throughput, rates, [row.answered_per_s for row in rows], "o-", band, "answered")
    draw_medians(throughput, rates, [row.fulfilled_per_s for row in rows], "s-", band, "fulfilled (COMMITTED)")
    throughput.set(xlabel="offered checkouts/s", ylabel="per second", title="Throughput")
    throughput.legend()
    draw_medians(cpu, rates, [row.cpu_ms_per_order for row in rows], "o-", band)
    cpu.set(xlabel="offered checkouts/s", ylabel="CPU-ms per committed order", title="Cost per order")
    figure.tight_layout()
    figure.savefig(path)
    print(f"plot: {path}")


def run_rounds(
    rf: RunningFleet,
    rates: list[float],
    repeat: int,
    step_s: float,
    titles: list[str],
    book_ids: list[str],
    baseline: Baseline,
) -> list[list[Step]]:
    """The ladder of rates, rising, `repeat` times in the same fleet; with more than one round, each round's knee.
    run_step tops the stock up before every step (add_stock), so each round finds stock for its orders."""
    rounds: list[list[Step]] = []
    for round_number in range(1, repeat + 1):
        if repeat > 1:
            print(f"round {round_number}/{repeat}:", flush=True)
        steps: list[Step] = []
        for rate in rates:
            steps.append(run_step(rf, rate, step_s, titles, book_ids, baseline))
            print_step(steps[-1])
        rounds.append(steps)
        if repeat > 1:
            knee = round_knee([s.sample() for s in steps])
            print(f"round {round_number} knee: {format_knee(knee)}{'' if knee is None else ' checkouts/s'}")
    return rounds


def knee_step(steps: list[Step], knee_rate: float | None) -> Step:
    """The per-process figures' and the profile's basis: the step at the (median) knee in `steps` (the last round),
    one served well if there is; the first step when there is no knee."""
    at_rate = [s for s in steps if s.rate == knee_rate]
    return next((s for s in at_rate if s.at_knee), at_rate[0] if at_rate else steps[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="5,10,20,30,40", help="offered checkouts/s, one step each")
    parser.add_argument("--step-s", type=float, default=15.0)
    parser.add_argument("--repeat", type=int, default=1, help="run the whole ladder of rates this many times")
    parser.add_argument("--plot", type=Path, default=None, help="write the SVG/PNG plot here")
    parser.add_argument("--replicas", type=int, choices=REPLICA_COUNTS, default=REPLICAS_DEFAULT, help="per Raft group")
    parser.add_argument("--profile", action="store_true", help="py-spy the hottest processes in one more knee step")
    parser.add_argument("--native", action="store_true", help="with --profile: C frames too (sqlite, gRPC core)")
    parser.add_argument("--profile-s", type=float, default=20.0, help="with --profile: seconds sampled")
    parser.add_argument("--workdir", default="", help="keep data and logs here (default: a temporary folder)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    rates = [float(r) for r in args.rates.split(",")]
    catalog = load_catalog()
    titles = [book.title for book in catalog.books]
    book_ids = [book.id for book in catalog.books]
    env = {**FLEET_ENV, "LOG_LEVEL": "WARNING"}
    with (
        tempfile.TemporaryDirectory(prefix="capacity-") as scratch,
        running_fleet(
            Path(args.workdir or scratch), extra_env=env, healthy_timeout_s=120, replicas=args.replicas
        ) as rf,
    ):
        print(f"start: {stamp()}", flush=True)
        rtt_ms, rpc_per_s = raw_grpc(rf.settings.payment_service_addr, "payment_service")
        print(f"raw gRPC: health Check p50 {rtt_ms:.2f} ms, {rpc_per_s:.0f} RPC/s (8 callers, one channel)")
        print(f"replicas per Raft group: {args.replicas}")
        # Warm-up: connections, leaders, first-call imports; its first order is the one the calibration polls.
        warm = run_step(rf, 2.0, 5.0, titles, book_ids, Baseline({}, {}, {}))
        warm_order = next(a.order_id for a in warm.answers if a.order_id)
        baseline = measure_baseline(rf, warm_order)
        print(
            f"idle fleet: {sum(baseline.cpu_per_s.values()) * 1000:.0f} CPU-ms/s in all (heartbeats, leases, health "
            f"polls); one status poll of the bench: {sum(baseline.cpu_per_poll.values()) * 1000:.2f} CPU-ms "
            "(taken out)"
        )
        rounds = run_rounds(rf, rates, args.repeat, args.step_s, titles, book_ids, baseline)
        samples = [[step.sample() for step in steps] for steps in rounds]
        knees = round_knees(samples)
        knee_rate = median_knee(knees)
        if args.repeat == 1:
            print(f"knee: {'none (not even the lowest rate)' if knee_rate is None else f'{knee_rate:.0f} checkouts/s'}")
        else:
            print("\n".join([*summary_lines(summarize(samples)), knee_line(knees)]))
        basis = knee_step(rounds[-1], knee_rate)
        print_cpu(basis)
        print_rpc(basis)
        if args.plot is not None:
            plot(summarize(samples), args.plot, band=args.repeat > 1)
        if args.profile:
            out_dir = Path(args.workdir or scratch) / "profiles"
            profile_hottest(rf, basis, args.profile_s, titles, book_ids, baseline, out_dir, args.native)
        print(f"end: {stamp()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
