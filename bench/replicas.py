"""3 against 5 replicas per Raft group (books, executors), one fleet of each, measured in the same run: commit
latency, throughput at a fixed rate, failover under load, and which failures each group survives.

Per fleet, in order: a books stock write (IncrementStock, one Raft commit) p50/p99; an executor decision (the
leader's last vote → the decision applied from the group's log, from GetTimeline) p50/p99; fulfilled/s at
--rate; SIGKILL of the executor leader and, separately, of the books leader under load (time until another
replica leads, the longest pause in commits and in 200s around the kill); then f = (N−1)/2 replicas of each
group killed (orders must still complete), one more (a majority down: nothing may commit), all restarted
(every order must finish), and the invariants over every order of the run (nothing oversold, none lost or
applied twice, ledgers reconcile).

    .venv/bin/python -m bench.replicas [--replicas 3,5] [--rate 10] [--step-s 12] [--plot replicas.svg]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.capacity import add_stock, checkout_sender, wait_final
from bench.core.failover import longest_pause
from bench.open_loop import Answer, percentile, run_open_loop
from bench.stamp import stamp
from testing.fleet_env import FLEET_ENV, REPLICA_COUNTS, replica_ids
from testing.local_fleet import RunningFleet, Shop, running_fleet
from utils.catalog.file import load_catalog
from utils.pb.order_executor import order_executor_pb2 as exec_pb
from utils.pb.order_executor import order_executor_pb2_grpc as exec_grpc
from utils.rpc.client import open_channel

STOCK_WRITES = 100
DECISIONS_SAMPLED = 40
LEADER_POLL_S = 0.05
LEADER_WAIT_S = 30.0
# The outage a kill causes: the longest pause between commits (or 200s) that ends within this long of the kill.
PAUSE_WINDOW_S = 10.0
FAILOVER_RATE = 5.0
FAILOVER_S = 20.0
KILL_AFTER_S = 6.0
SURVIVE_RATE = 4.0
SURVIVE_S = 10.0
STALLED_WAIT_S = 15.0  # how long orders placed with a majority down are watched (none may commit)
FINAL_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class Failover:
    killed: str
    new_leader_s: float  # from the SIGKILL until another replica of the group reported itself leader
    commits_paused_s: float  # the longest pause between commits within PAUSE_WINDOW_S of the kill
    checkouts_paused_s: float  # the same for 200s
    committed: int
    approved: int
    aborted: dict[str, int]  # the reasons of the orders of the phase that did not commit
    orders: tuple[str, ...]  # the approved ones, for the invariants at the end


@dataclass
class Figures:
    replicas: int
    stock_write_ms: tuple[float, float] = (math.nan, math.nan)  # p50, p99
    decision_ms: tuple[float, float] = (math.nan, math.nan)
    checkout_ms: tuple[float, float] = (math.nan, math.nan)
    fulfilled_per_s: float = math.nan
    failovers: list[Failover] = field(default_factory=list)
    minority_down: tuple[int, int] = (0, 0)  # committed, approved with f replicas of each group down
    majority_down: tuple[int, int, Counter[int]] = (0, 0, Counter())  # committed while down, approved, statuses
    majority_after_restart: tuple[int, int] = (0, 0)  # committed, final of those orders once all were back
    after_restart_aborted: dict[str, int] = field(default_factory=dict)  # the reasons of those that did not commit
    orders_checked: int = 0


def p50_p99(values: list[float]) -> tuple[float, float]:
    return (statistics.median(values), percentile(values, 0.99)) if values else (math.nan, math.nan)


class Load:
    """Open-loop checkouts on a thread of their own, so a replica can be killed while they run."""

    def __init__(self, rf: RunningFleet, titles: list[str], rate: float, seconds: float) -> None:
        self.answers: list[Answer] = []
        self.started_wall = time.time()
        self.started_mono = time.monotonic()

        def run() -> None:
            self.answers = run_open_loop(lambda: checkout_sender(rf.api, titles), rate, seconds)

        self._thread = threading.Thread(target=run, name="replica-load")
        self._thread.start()

    def join(self) -> list[Answer]:
        self._thread.join()
        return self.answers

    @property
    def approved(self) -> list[str]:
        return [a.order_id for a in self.answers if a.order_id]

    def ok_at_wall(self) -> list[float]:
        """Wall-clock time of each 200's arrival."""
        offset = self.started_wall - self.started_mono
        return [a.due + a.latency_s + offset for a in self.answers if a.status == 200]


def leader_of(statuses: dict[str, str | None]) -> str | None:
    return next((node for node, role in statuses.items() if role == "leader"), None)


def executor_roles(shop: Shop) -> dict[str, str | None]:
    return {node: (s.role if s is not None else None) for node, s in shop.executor_status().items()}


def books_roles(shop: Shop) -> dict[str, str | None]:
    return {node: (s.role if s is not None else None) for node, s in shop.books.status_all().items()}


def wait_leader(roles: Callable[[], dict[str, str | None]], not_in: set[str]) -> str:
    deadline = time.monotonic() + LEADER_WAIT_S
    while time.monotonic() < deadline:
        leader = leader_of({n: r for n, r in roles().items() if n not in not_in})
        if leader is not None:
            return leader
        time.sleep(LEADER_POLL_S)
    raise AssertionError(f"no leader outside {sorted(not_in)} within {LEADER_WAIT_S} s")


def stock_writes(shop: Shop, book_id: str) -> list[float]:
    samples = []
    for _ in range(STOCK_WRITES):
        started = time.perf_counter()
        reply = shop.books.increment_stock(book_id, 1, request_id=uuid.uuid4().hex)
        samples.append((time.perf_counter() - started) * 1000)
        assert reply.success, reply
    return samples


def decision_latencies(rf: RunningFleet, shop: Shop, order_ids: list[str]) -> list[float]:
    """Per order, on the executor leader: its last vote → the decision applied from the log (one Raft commit)."""
    leader = wait_leader(lambda: executor_roles(shop), set())
    address = rf.settings.executor_peers()[leader]
    samples = []
    with open_channel(address, leader, retries=False, tls=rf.tls()) as channel:
        stub = exec_grpc.OrderExecutorStub(channel)
        for order_id in order_ids:
            entries = stub.GetTimeline(exec_pb.GetTimelineRequest(tx_id=order_id), timeout=2).entries
            votes = [e.at_s for e in entries if e.kind == "vote" and e.node_id == leader]
            decided = [e.at_s for e in entries if e.kind == "decision_logged" and e.node_id == leader]
            if votes and decided:
                samples.append((min(decided) - max(votes)) * 1000)
    return samples


def failover(rf: RunningFleet, shop: Shop, titles: list[str], group: str) -> Failover:
    roles = (lambda: executor_roles(shop)) if group == "executor" else (lambda: books_roles(shop))
    leader = wait_leader(roles, set())
    load = Load(rf, titles, FAILOVER_RATE, FAILOVER_S)
    time.sleep(KILL_AFTER_S)
    killed_at = time.time()
    rf.fleet.kill(leader)
    new_leader = wait_leader(roles, {leader})
    new_leader_s = time.time() - killed_at
    load.join()
    finals = wait_final(rf.api, load.approved, load.started_wall)
    rf.fleet.start(leader)
    rf.fleet.wait_healthy([leader], timeout_s=60)
    print(f"  {group}: killed leader {leader}, {new_leader} leads after {new_leader_s:.2f} s", flush=True)
    return Failover(
        killed=leader,
        new_leader_s=new_leader_s,
        commits_paused_s=longest_pause(finals.committed_at, killed_at, PAUSE_WINDOW_S),
        checkouts_paused_s=longest_pause(load.ok_at_wall(), killed_at, PAUSE_WINDOW_S),
        committed=len(finals.committed_at),
        approved=len(load.approved),
        aborted=aborted_reasons(shop, load.approved),
        orders=tuple(load.approved),
    )


def aborted_reasons(shop: Shop, order_ids: list[str]) -> dict[str, int]:
    """Why the orders that did not commit ended as they did (all are final by now)."""
    orders = (shop.order(order_id) for order_id in order_ids)
    return dict(Counter(o["reason"] or o["state"] for o in orders if o["state"] != "COMMITTED"))


def survival(rf: RunningFleet, shop: Shop, titles: list[str], figures: Figures) -> list[str]:
    """f down in each group (orders complete), then f + 1 (nothing commits), then all back (everything finishes).
    Returns the orders approved in this part."""
    n = figures.replicas
    f = (n - 1) // 2
    groups = [replica_ids("executor", n), replica_ids("books", n)]
    down = [name for ids in groups for name in ids[:f]]
    for name in down:
        rf.fleet.kill(name)
    wait_leader(lambda: executor_roles(shop), set(down))
    wait_leader(lambda: books_roles(shop), set(down))
    load = Load(rf, titles, SURVIVE_RATE, SURVIVE_S)
    load.join()
    finals = wait_final(rf.api, load.approved, load.started_wall)
    figures.minority_down = (len(finals.committed_at), len(load.approved))
    print(f"  {f} of {n} down in each group: {figures.minority_down[0]}/{figures.minority_down[1]} committed")
    more = [ids[f] for ids in groups]
    for name in more:
        rf.fleet.kill(name)
    stalled = Load(rf, titles, SURVIVE_RATE / 2, SURVIVE_S)
    stalled.join()
    committed_while_down = count_committed(shop, stalled.approved, STALLED_WAIT_S)
    figures.majority_down = (committed_while_down, len(stalled.approved), Counter(a.status for a in stalled.answers))
    print(f"  {f + 1} of {n} down: {committed_while_down}/{len(stalled.approved)} committed in {STALLED_WAIT_S:.0f} s")
    for name in [*down, *more]:
        rf.fleet.start(name)
    rf.fleet.wait_healthy([*down, *more], timeout_s=90)
    after = wait_final(rf.api, stalled.approved, time.time())
    figures.majority_after_restart = (len(after.committed_at), len(stalled.approved) if after.lag_s < math.inf else 0)
    figures.after_restart_aborted = aborted_reasons(shop, stalled.approved)
    if figures.after_restart_aborted:
        print(f"  after the restart: not committed, by reason: {figures.after_restart_aborted}")
    return [*load.approved, *stalled.approved]


def count_committed(shop: Shop, order_ids: list[str], watch_s: float) -> int:
    """How many of the orders are COMMITTED at any point within `watch_s` (polled; a deadline, not a sleep)."""
    committed: set[str] = set()
    deadline = time.monotonic() + watch_s
    while time.monotonic() < deadline:
        for order_id in set(order_ids) - committed:
            if shop.order(order_id)["state"] == "COMMITTED":
                committed.add(order_id)
        time.sleep(0.5)
    return len(committed)


def measure(replicas: int, rate: float, step_s: float, workdir: Path) -> Figures:
    figures = Figures(replicas)
    catalog = load_catalog()
    titles = [book.title for book in catalog.books]
    book_ids = [book.id for book in catalog.books]
    env = {**FLEET_ENV, "LOG_LEVEL": "WARNING"}
    with running_fleet(workdir, extra_env=env, healthy_timeout_s=180, replicas=replicas) as rf:
        shop = Shop(rf)
        try:
            add_stock(rf.api, book_ids, 1000)
            warm = Load(rf, titles, 2.0, 4.0)
            warm.join()
            wait_final(rf.api, warm.approved, warm.started_wall)
            figures.stock_write_ms = p50_p99(stock_writes(shop, book_ids[0]))
            stock_before = {b: int(shop.stock(b).stock) for b in book_ids}
            load = Load(rf, titles, rate, step_s)
            answers = load.join()
            finals = wait_final(rf.api, load.approved, load.started_wall)
            figures.fulfilled_per_s = finals.fulfilled_per_s
            figures.checkout_ms = p50_p99([a.latency_s * 1000 for a in answers if a.status == 200])
            figures.decision_ms = p50_p99(decision_latencies(rf, shop, load.approved[:DECISIONS_SAMPLED]))
            print(f"{replicas} replicas: steady state measured", flush=True)
            orders = list(load.approved)
            for group in ("executor", "books"):
                figures.failovers.append(failover(rf, shop, titles, group))
                orders += figures.failovers[-1].orders
            orders += survival(rf, shop, titles, figures)
            # Every order placed since stock_before was read: the stock each took must add up (I1).
            checked = shop.check_invariants(orders, stock_before, timeout_s=FINAL_TIMEOUT_S)
            figures.orders_checked = len(checked)
        finally:
            shop.close()
    return figures


def report(results: list[Figures]) -> None:
    def row(name: str, cell: Callable[[Figures], str]) -> None:
        print(f"{name:<44}" + "".join(f"{cell(r):>22}" for r in results))

    def ms(pair: tuple[float, float]) -> str:
        return f"{pair[0]:.1f} / {pair[1]:.1f} ms"

    def s(value: float) -> str:
        return f"{value:.2f} s" if value < math.inf else "never"

    row("replicas per group", lambda r: str(r.replicas))
    row("books stock write p50 / p99", lambda r: ms(r.stock_write_ms))
    row("executor decision commit p50 / p99", lambda r: ms(r.decision_ms))
    row("checkout p50 / p99 at the fixed rate", lambda r: ms(r.checkout_ms))
    row("fulfilled/s at the fixed rate", lambda r: f"{r.fulfilled_per_s:.1f}")
    for i, group in enumerate(("executor", "books")):

        def failover_row(name: str, cell: Callable[[Failover], str], i: int = i, group: str = group) -> None:
            row(f"{group} leader killed: {name}", lambda r: cell(r.failovers[i]))

        failover_row("new leader after", lambda f: s(f.new_leader_s))
        failover_row("longest pause in commits", lambda f: s(f.commits_paused_s))
        failover_row("longest pause in 200s", lambda f: s(f.checkouts_paused_s))
        failover_row("committed / approved", lambda f: f"{f.committed}/{f.approved}")
    row("(N−1)/2 down per group: committed / approved", lambda r: "{}/{}".format(*r.minority_down))
    row("majority down: committed / approved", lambda r: f"{r.majority_down[0]}/{r.majority_down[1]}")
    row(
        "majority down: answers by status",
        lambda r: " ".join(f"{c or 'none'}:{n}" for c, n in sorted(r.majority_down[2].items())),
    )
    row("after restart: committed / final", lambda r: "{}/{}".format(*r.majority_after_restart))
    row("orders checked (I1–I5 hold)", lambda r: str(r.orders_checked))


def plot(results: list[Figures], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (latency, outage) = plt.subplots(1, 2, figsize=(12, 4.2))
    width = 0.8 / len(results)
    kinds = ["stock write p50", "stock write p99", "decision p50", "decision p99"]
    for i, r in enumerate(results):
        values = [*r.stock_write_ms, *r.decision_ms]
        latency.bar([k + i * width for k in range(len(kinds))], values, width, label=f"{r.replicas} replicas")
        events = [f.new_leader_s for f in r.failovers] + [f.commits_paused_s for f in r.failovers]
        outage.bar([k + i * width for k in range(4)], events, width, label=f"{r.replicas} replicas")
    latency.set_xticks([k + width / 2 for k in range(len(kinds))], kinds)
    latency.set(ylabel="ms", yscale="log", title="Commit latency")
    latency.legend()
    labels = ["executor: new leader", "books: new leader", "executor: commits paused", "books: commits paused"]
    outage.set_xticks([k + width / 2 for k in range(4)], labels, fontsize=8)
    outage.set(ylabel="seconds after SIGKILL of the leader", title="Failover under load")
    outage.legend()
    figure.tight_layout()
    figure.savefig(path)
    print(f"plot: {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicas", default="3,5", help="replica counts to compare, one fleet each")
    parser.add_argument("--rate", type=float, default=10.0, help="the fixed offered rate, checkouts/s")
    parser.add_argument("--step-s", type=float, default=12.0)
    parser.add_argument("--workdir", default="")
    parser.add_argument("--plot", type=Path, default=None, help="write commit latency and failover bars here")
    args = parser.parse_args()
    counts = [int(n) for n in args.replicas.split(",")]
    if not set(counts) <= set(REPLICA_COUNTS):
        parser.error(f"--replicas: each of {REPLICA_COUNTS}")
    print(f"start: {stamp()}", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="replicas-") as scratch:
        for n in counts:
            results.append(measure(n, args.rate, args.step_s, Path(args.workdir or scratch) / f"r{n}"))
    report(results)
    for r in results:
        for f in r.failovers:
            if f.aborted:
                print(f"{r.replicas} replicas, {f.killed} killed: not committed, by reason: {f.aborted}")
    if args.plot is not None:
        plot(results, args.plot)
    print(f"end: {stamp()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
