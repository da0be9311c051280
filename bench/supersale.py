"""A supersale: steady checkouts at the knee, a spike to 3× the knee for ~20 s, the knee again, on the whole fleet.

Reports what the shopper saw per phase (statuses, the share of 503 + Retry-After, latency of the accepted orders,
goodput against the knee), the order queue's depth over time with its bound (set low, so the spike reaches it)
and how fast the backlog drained after the spike, then checks nothing was oversold or lost: every approved
order final, stock and payment ledgers reconciled (testing/local_fleet.Shop.check_invariants). Half the orders ask
for one hot book whose stock runs out during the spike, so overselling it would show.

    .venv/bin/python -m bench.supersale [--knee 10] [--steady-s 15] [--spike-s 20] [--depth-max 60] [--plot f.svg]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import grpc

from bench.capacity import add_stock, checkout_sender
from bench.core.drain import DepthSample, Drain, drain, percentile_int
from bench.open_loop import Answer, percentile, run_open_loop
from bench.stamp import stamp
from testing.fleet_env import FLEET_ENV
from testing.local_fleet import RunningFleet, Shop, running_fleet
from utils.catalog.file import load_catalog

SAMPLE_EVERY_S = 0.25  # queue depth sampling period
DRAIN_TIMEOUT_S = 120.0
SPIKE_FACTOR = 3.0


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    rate: float
    seconds: float


@dataclass(frozen=True, slots=True)
class PhaseResult:
    phase: Phase
    started_s: float  # since the run's start
    answers: list[Answer]

    @property
    def accepted(self) -> list[Answer]:
        return [a for a in self.answers if a.status == 200]


class DepthSampler:
    """Samples the queue's depth (Stats) and the executor leader's open transactions (Status) every
    SAMPLE_EVERY_S on a thread of its own until stopped. An order leaves the queue's depth once the executors
    have taken it (leased and begun), so the backlog of a spike is the two together."""

    def __init__(self, shop: Shop, t0: float) -> None:
        self.shop, self.t0 = shop, t0
        self.samples: list[DepthSample] = []
        self.executing: list[DepthSample] = []  # transactions begun and not ended, on the executor leader
        self.missed = 0  # samples whose Stats call failed
        self.depth_max = int(shop.queue.stats(timeout_s=5).depth_max)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="depth-sampler", daemon=True)

    def __enter__(self) -> DepthSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            try:
                stats = self.shop.queue.stats(timeout_s=2)
            except grpc.RpcError:
                self.missed += 1  # reported beside the depth figures: a gap in the samples, not a zero
                continue
            at_s = time.monotonic() - self.t0
            self.samples.append(DepthSample(at_s, int(stats.depth)))
            leaders = [s for s in self.shop.executor_status().values() if s is not None and s.role == "leader"]
            if leaders:
                self.executing.append(DepthSample(at_s, int(leaders[0].transactions_open)))


def show_phase(result: PhaseResult, knee_goodput: float, fulfilled_per_s: float) -> None:
    answers, accepted = result.answers, result.accepted
    statuses = Counter(a.status for a in answers)
    shed = sum(1 for a in answers if a.status == 503 and a.retry_after)
    refusals = Counter(a.code for a in answers if a.status == 503)
    latencies = [a.latency_s * 1000 for a in accepted]
    goodput = len(accepted) / result.phase.seconds
    by_status = " ".join(f"{code or 'none'}:{n}" for code, n in sorted(statuses.items()))
    print(
        f"{result.phase.name:<10} offered {result.phase.rate:5.1f}/s for {result.phase.seconds:.0f} s  "
        f"accepted {goodput:5.1f}/s ({goodput / knee_goodput:4.0%} of the knee's)  fulfilled {fulfilled_per_s:5.1f}/s  "
        f"503+Retry-After {shed / max(1, len(answers)):4.0%}  "
        f"p50 {statistics.median(latencies) if latencies else math.nan:6.0f} ms  "
        f"p99 {percentile(latencies, 0.99):6.0f} ms  "
        f"[{by_status}]" + (f" 503 by code {dict(refusals)}" if refusals else ""),
        flush=True,
    )


def show_drain(what: str, result: Drain, baseline: int, bound: str) -> None:
    print(
        f"{what}: peak {result.peak} at {result.peak_at_s:.1f} s{bound}; back to the steady level ({baseline}) "
        f"{result.drained_after_peak_s:.1f} s after the peak, {result.drained_after_s:.1f} s after the spike ended"
        f"{f' (draining {result.drain_rate_per_s:.1f} orders/s)' if result.drain_rate_per_s else ''}",
        flush=True,
    )


def run_supersale(
    rf: RunningFleet, knee: float, steady_s: float, spike_s: float, hot_stock: int, plot_path: Path | None
) -> int:
    catalog = load_catalog()
    books = catalog.books
    hot, others = books[0], books[1:]
    # Every other checkout asks for the hot book: its stock runs out during the spike, the others' does not.
    titles = [title for other in others for title in (hot.title, other.title)]
    phases = [
        Phase("steady", knee, steady_s),
        Phase("spike", SPIKE_FACTOR * knee, spike_s),
        Phase("after", knee, steady_s),
    ]
    offered_total = sum(p.rate * p.seconds for p in phases)
    add_stock(rf.api, [b.id for b in others], math.ceil(offered_total / len(others)) + 5)
    shop = Shop(rf)
    try:
        hot_now = int(shop.stock(hot.id).stock)
        if hot_now < hot_stock:
            add_stock(rf.api, [hot.id], hot_stock - hot_now)
        stock_before = {b.id: int(shop.stock(b.id).stock) for b in books}
        print(f"hot book {hot.id}: stock {stock_before[hot.id]}, asked for by ~{offered_total / 2:.0f} checkouts")
        t0, t0_wall = time.monotonic(), time.time()
        results: list[PhaseResult] = []
        with DepthSampler(shop, t0) as sampler:
            for phase in phases:
                started = time.monotonic() - t0
                answers = run_open_loop(lambda: checkout_sender(rf.api, titles), phase.rate, phase.seconds)
                results.append(PhaseResult(phase, started, answers))
            spike_end_s = results[1].started_s + phases[1].seconds
            approved = [a.order_id for r in results for a in r.answers if a.order_id]
            final_started = time.monotonic()
            orders = shop.check_invariants(approved, stock_before, timeout_s=DRAIN_TIMEOUT_S)
            final_after_s = time.monotonic() - final_started
        knee_goodput = len(results[0].accepted) / phases[0].seconds or 1.0
        committed_at = [
            datetime.fromisoformat(o["updatedAt"]).timestamp() - t0_wall
            for o in orders.values()
            if o["state"] == "COMMITTED"
        ]
        for result in results:
            window = (result.started_s, result.started_s + result.phase.seconds)
            fulfilled = sum(1 for t in committed_at if window[0] <= t < window[1]) / result.phase.seconds
            show_phase(result, knee_goodput, fulfilled)
        queue_full = sum(1 for r in results for a in r.answers if a.code == "QUEUE_FULL")
        for what, series in (("queue depth", sampler.samples), ("executing", sampler.executing)):
            steady = percentile_int([s.depth for s in series if s.at_s < results[1].started_s], 0.9)
            backlog = drain(series, spike_end_s, steady, sampler.depth_max)
            bound = ""
            if what == "queue depth":
                # A sample can miss the instant the queue was full; its QUEUE_FULL answers cannot.
                reached = backlog.bound_reached or queue_full > 0
                bound = f" of the bound {sampler.depth_max} ({'reached' if reached else 'not reached'}: "
                bound += f"{queue_full} answered QUEUE_FULL)"
            show_drain(what, backlog, steady, bound)
        if sampler.missed:
            print(f"queue: {sampler.missed} depth samples missed (Stats failed)")
        committed = [o for o in orders.values() if o["state"] == "COMMITTED"]
        by_reason = Counter(o["reason"] or "" for o in orders.values() if o["state"] != "COMMITTED")
        print(
            f"orders: {len(approved)} approved, every one final (read back and checked in {final_after_s:.1f} s); "
            f"{len(committed)} COMMITTED, aborted by reason {dict(by_reason)}; "
            f"hot book sold {stock_before[hot.id] - int(shop.stock(hot.id).stock)} of {stock_before[hot.id]}"
        )
        print("invariants: I1–I5 hold (nothing oversold, no order lost or applied twice, ledgers reconcile)")
        last_commit_s = max(committed_at, default=0.0)
        print(
            f"last order committed {last_commit_s - (results[-1].started_s + phases[-1].seconds):.1f} s after the "
            f"load ended; {len(committed) / max(1e-9, last_commit_s):.1f} fulfilled/s over the whole run"
        )
        if plot_path is not None:
            plot(results, sampler.samples, sampler.executing, sampler.depth_max, plot_path)
        print(f"end: {stamp()}", flush=True)
    finally:
        shop.close()
    return 0


def plot(
    results: list[PhaseResult],
    samples: list[DepthSample],
    executing: list[DepthSample],
    depth_max: int,
    path: Path,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = min(a.due for r in results for a in r.answers) - results[0].started_s
    per_s: dict[str, Counter[int]] = {"offered": Counter(), "accepted (200)": Counter(), "shed (503)": Counter()}
    for a in (a for r in results for a in r.answers):
        second = int(a.due - t0)
        per_s["offered"][second] += 1
        if a.status == 200:
            per_s["accepted (200)"][second] += 1
        elif a.status == 503:
            per_s["shed (503)"][second] += 1
    figure, (answers_axis, depth_axis) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    for name, counts in per_s.items():
        seconds = sorted(counts)
        answers_axis.plot(seconds, [counts[s] for s in seconds], label=name)
    answers_axis.set(ylabel="checkouts per second", title="Supersale: 3× the knee for the spike")
    answers_axis.legend()
    depth_axis.plot([s.at_s for s in samples], [s.depth for s in samples], label="queue depth")
    depth_axis.plot([s.at_s for s in executing], [s.depth for s in executing], label="executing (leader)")
    depth_axis.axhline(depth_max, linestyle=":", color="grey", label=f"depth bound {depth_max}")
    depth_axis.set(xlabel="seconds since the start", ylabel="orders waiting or leased")
    depth_axis.legend()
    figure.tight_layout()
    figure.savefig(path)
    print(f"plot: {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--knee", type=float, default=10.0, help="checkouts/s at the knee (bench.capacity)")
    parser.add_argument("--steady-s", type=float, default=15.0)
    parser.add_argument("--spike-s", type=float, default=20.0)
    parser.add_argument("--depth-max", type=int, default=60, help="ORDER_QUEUE_DEPTH_MAX: low, so the spike hits it")
    parser.add_argument("--hot-stock", type=int, default=150, help="stock of the hot book at the start")
    parser.add_argument("--plot", type=Path, default=None)
    parser.add_argument("--workdir", default="")
    args = parser.parse_args()
    env = {**FLEET_ENV, "LOG_LEVEL": "WARNING", "ORDER_QUEUE_DEPTH_MAX": str(args.depth_max)}
    with (
        tempfile.TemporaryDirectory(prefix="supersale-") as scratch,
        running_fleet(Path(args.workdir or scratch), extra_env=env, healthy_timeout_s=120) as rf,
    ):
        print(f"start: {stamp()}", flush=True)
        return run_supersale(rf, args.knee, args.steady_s, args.spike_s, args.hot_stock, args.plot)


if __name__ == "__main__":
    sys.exit(main())
