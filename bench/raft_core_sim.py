"""Benchmark of the pure Raft core: in-memory commit throughput and simulator speed (prints figures).

Run: .venv/bin/python -m bench.raft_core_sim [--seeds 200]
"""

from __future__ import annotations

import argparse
import time

from testing.raft_sim import FAULT_MIXES, SimOptions, Simulation
from testing.raft_sim_cluster import Cluster
from utils.raft.core import MessageType


def commit_throughput(proposals: int, batch: int) -> float:
    """Commands/s committed and applied on all three nodes, `batch` proposals per Ready."""
    cluster = Cluster(["a", "b", "c"], seed=1)
    cluster.elect("a")
    started = time.perf_counter()
    for first in range(0, proposals, batch):
        for i in range(first, min(first + batch, proposals)):
            cluster.propose("a", f"put k{i % 100} v{i}".encode())
        cluster.deliver_all()
    cluster.run(1)
    elapsed = time.perf_counter() - started
    assert all(cluster.nodes[n].applied_index >= proposals for n in cluster.ids)
    return proposals / elapsed


def messages_per_entry(every_ticks: int, ticks: int = 400) -> tuple[float, float]:
    """Leader → follower APPENDs per committed entry and follower, one proposal every `every_ticks` ticks (50 ms
    each, heartbeat every 2): deterministic and load-free, what the core asks of the transport before coalescing.
    Returns (all APPENDs, of which empty ones: heartbeats and commit notices)."""
    cluster = Cluster(["a", "b", "c"], seed=1, heartbeat_ticks=2, election_ticks=10)
    cluster.elect("a")
    cluster.run(5)
    first = cluster.nodes["a"].raw.status().commit_index
    cluster.sent.clear()
    for tick in range(ticks):
        if tick % every_ticks == 0:
            cluster.propose("a", f"put k{tick} v".encode())
        cluster.run(1)
    entries = cluster.nodes["a"].raw.status().commit_index - first
    appends = [m for m in cluster.sent if m.sender == "a" and m.type is MessageType.APPEND]
    empty = [m for m in appends if not m.entries]
    return len(appends) / entries / 2, len(empty) / entries / 2


def simulator_speed(seeds: int) -> None:
    mixes = sorted(FAULT_MIXES)
    ticks = messages = 0
    started = time.perf_counter()
    for seed in range(seeds):
        result = Simulation(SimOptions(seed=seed, mix=mixes[seed % len(mixes)])).run()
        ticks += result.ticks
        messages += result.messages
    elapsed = time.perf_counter() - started
    print(
        f"simulator: {seeds} seeds in {elapsed:.1f}s = {seeds / elapsed:.1f} seeds/s, "
        f"{ticks / elapsed:.0f} ticks/s, {messages / elapsed:.0f} messages/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=200)
    args = parser.parse_args()
    for every in (1, 2, 4, 10):
        total, empty = messages_per_entry(every)
        print(
            f"core messages, 3 nodes, one proposal every {every * 50:>3} ms: {total:.2f} APPENDs per entry per "
            f"follower ({empty:.2f} of them empty: heartbeats and commit notices)"
        )
    for batch in (1, 16, 256):
        print(
            f"core commit throughput, 3 nodes in memory, {batch:>3} proposals per Ready: "
            f"{commit_throughput(5000, batch):,.0f} commands/s"
        )
    simulator_speed(args.seeds)


if __name__ == "__main__":
    main()
