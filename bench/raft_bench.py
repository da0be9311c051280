"""Raft runtime benchmark: 3 raft_kv_server processes on loopback, every write fsynced before it is acknowledged.

Prints commits/s and p50/p99 commit latency with 1 and with 64 outstanding proposals, and failover time
(leader SIGKILL → first write committed by the new leader; and SIGTERM with leadership transfer).
Run: .venv/bin/python -m bench.raft_bench [--seconds 5] [--failovers 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import grpc

from testing.pb.raft_kv import raft_kv_pb2, raft_kv_pb2_grpc
from testing.pki import harness_tls
from testing.raft_kv_client import KvClient, Outcome
from testing.raft_kv_cluster import KvCluster


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def load(address: str, node_id: str, outstanding: int, seconds: float) -> tuple[int, int, list[float]]:
    """Keeps `outstanding` puts in flight for `seconds`; (committed, failed, latencies in s)."""
    channel = harness_tls().secure_channel(address, node_id)
    stub = raft_kv_pb2_grpc.RaftKVStub(channel)
    slots = threading.Semaphore(outstanding)
    lock = threading.Lock()
    latencies: list[float] = []
    failed = [0]
    deadline = time.monotonic() + seconds
    sent = 0
    value = "v" * 64

    def done(future: grpc.Future[Any], started: float) -> None:
        elapsed = time.perf_counter() - started
        with lock:
            if future.exception() is None:
                latencies.append(elapsed)
            else:
                failed[0] += 1
        slots.release()

    while time.monotonic() < deadline:
        slots.acquire()
        started = time.perf_counter()
        future = stub.Put.future(raft_kv_pb2.WriteRequest(key=f"k{sent % 1000}", value=value), timeout=10)
        future.add_done_callback(lambda f, s=started: done(f, s))
        sent += 1
    for _ in range(outstanding):
        slots.acquire()
    channel.close()
    return len(latencies), failed[0], latencies


def measure_idle(cluster: KvCluster, seconds: float = 3.0) -> None:
    leader = cluster.wait_for_leader(timeout_s=20)
    time.sleep(0.5)  # let the last writes' traffic settle
    before = cluster.status(leader)
    time.sleep(seconds)
    after = cluster.status(leader)
    assert before is not None and after is not None
    followers = len(cluster.replicas) - 1
    print(
        f"idle: {(after.peer_rpcs_sent - before.peer_rpcs_sent) / seconds / followers:.1f} RPCs/s "
        "from the leader to each follower",
        flush=True,
    )


def measure_election_rpcs(cluster: KvCluster) -> None:
    """Peer RPCs the survivors send from a leader's SIGKILL until one of them leads and is followed."""
    leader = cluster.wait_for_leader(timeout_s=20)
    survivors = [n for n in cluster.replicas if n != leader]

    def rpcs() -> int:
        statuses = [cluster.status(n) for n in survivors]
        return sum(s.peer_rpcs_sent + s.peer_rpcs_failed for s in statuses if s is not None)

    before = rpcs()
    cluster.kill(leader)
    cluster.wait_for_leader(exclude=frozenset({leader}))
    sent = rpcs() - before
    print(
        f"an election after a leader's SIGKILL: {sent} peer RPCs in all (pre-votes, votes, the new leader's "
        "first appends and heartbeats, calls to the dead node)",
        flush=True,
    )
    cluster.start(leader)


def measure_throughput(cluster: KvCluster, seconds: float) -> None:
    leader = cluster.wait_for_leader(timeout_s=20)
    address = cluster.replicas[leader].address
    load(address, leader, 8, 1.0)  # warm up connections and the code paths
    for outstanding in (1, 64):
        term_before = cluster.status(leader).term  # type: ignore[union-attr]
        started = time.monotonic()
        committed, failed, latencies = load(address, leader, outstanding, seconds)
        elapsed = time.monotonic() - started
        after = cluster.status(leader)
        elections = "none" if after is not None and after.term == term_before and after.role == "leader" else "SOME"
        print(
            f"outstanding={outstanding:>2}: {committed / elapsed:8.0f} commits/s   "
            f"p50 {1000 * percentile(latencies, 0.50):6.2f} ms   p99 {1000 * percentile(latencies, 0.99):6.2f} ms"
            f"   ({committed} committed, {failed} failed in {elapsed:.1f} s; elections during the run: {elections})",
            flush=True,
        )


def cpu_s(cluster: KvCluster, node_id: str) -> float:
    """User + system CPU seconds the replica's process has used so far (Linux /proc)."""
    process = cluster.replicas[node_id].process
    assert process is not None
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_paced(cluster: KvCluster, rate: float, seconds: float) -> None:
    """Open loop at `rate` writes/s (the fleet's regime: a few to a few dozen entries/s), load-independent figures:
    peer RPCs per committed entry and follower, and each replica's CPU-ms per committed entry."""
    leader = cluster.wait_for_leader(timeout_s=20)
    channel = harness_tls().secure_channel(cluster.replicas[leader].address, leader)
    stub = raft_kv_pb2_grpc.RaftKVStub(channel)
    before = cluster.status(leader)
    cpu_before = {n: cpu_s(cluster, n) for n in cluster.replicas}
    futures = []
    started = time.monotonic()
    for i in range(int(rate * seconds)):
        delay = started + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)  # pacing the load generator, not waiting for a result
        futures.append(stub.Put.future(raft_kv_pb2.WriteRequest(key=f"p{i % 100}", value="v" * 64), timeout=10))
    failed = sum(f.exception() is not None for f in futures)
    after = cluster.status(leader)
    cpu_after = {n: cpu_s(cluster, n) for n in cluster.replicas}
    channel.close()
    assert before is not None and after is not None
    entries = max(1, after.commit_index - before.commit_index)
    followers = len(cluster.replicas) - 1
    rpcs = (after.peer_rpcs_sent - before.peer_rpcs_sent) / entries / followers
    cpu = {n: 1000 * (cpu_after[n] - cpu_before[n]) / entries for n in cluster.replicas}
    others = [cpu[n] for n in cluster.replicas if n != leader]
    print(
        f"paced {rate:5.0f} writes/s: {rpcs:.2f} peer RPCs per entry per follower; CPU-ms per entry: leader "
        f"{cpu[leader]:.2f}, followers {statistics.mean(others):.2f} ({entries} entries, {failed} failed)",
        flush=True,
    )


def measure_in_leader(cluster: KvCluster, seconds: float) -> None:
    """The same figures without the client's gRPC call per write: the leader proposes from its own threads."""
    leader = cluster.wait_for_leader(timeout_s=20)
    stub = cluster.replicas[leader].kv
    followers = len(cluster.replicas) - 1
    for outstanding in (1, 64):
        before = cluster.status(leader)
        cpu_before = {n: cpu_s(cluster, n) for n in cluster.replicas}
        reply = stub.Load(
            raft_kv_pb2.LoadRequest(outstanding=outstanding, seconds=seconds, value_bytes=64), timeout=seconds + 30
        )
        cpu_after = {n: cpu_s(cluster, n) for n in cluster.replicas}
        after = cluster.status(leader)
        assert before is not None and after is not None
        # Load-independent: the leader's peer RPCs (AppendEntries, with heartbeats and commit notices) per
        # committed entry and follower. Every follower RPC answered is one more step of its driver loop.
        entries = max(1, after.commit_index - before.commit_index)
        rpcs = (after.peer_rpcs_sent - before.peer_rpcs_sent) / entries / followers
        cpu = {n: 1000 * (cpu_after[n] - cpu_before[n]) / entries for n in cluster.replicas}
        others = statistics.mean(cpu[n] for n in cluster.replicas if n != leader)
        print(
            f"outstanding={outstanding:>2}: {reply.committed / reply.elapsed_s:8.0f} commits/s   "
            f"p50 {reply.p50_ms:6.2f} ms   p99 {reply.p99_ms:6.2f} ms   "
            f"({reply.committed} committed, {reply.failed} failed in {reply.elapsed_s:.1f} s; "
            f"{rpcs:.2f} peer RPCs per entry per follower; CPU-ms per entry: leader {cpu[leader]:.3f}, "
            f"followers {others:.3f})",
            flush=True,
        )


def first_write_after(client: KvClient, exclude: str, started: float, timeout_s: float = 10.0) -> float:
    """Seconds from `started` until a put is acknowledged by a leader other than `exclude`."""
    client.leader = None
    deadline = time.monotonic() + timeout_s
    n = 0
    while time.monotonic() < deadline:
        n += 1
        outcome = client.write("put", "failover", str(n), timeout_s=0.3)
        if outcome is Outcome.OK and client.leader != exclude:
            return time.monotonic() - started
        client.leader = None if client.leader == exclude else client.leader
    raise TimeoutError("no write committed after the failover")


def measure_failover(cluster: KvCluster, runs: int, graceful: bool) -> list[float]:
    client = KvClient(cluster.addresses, rpc_timeout_s=0.3)
    times: list[float] = []
    for _ in range(runs):
        leader = cluster.wait_for_leader(timeout_s=20)
        cluster.wait_until_converged(timeout_s=20)
        time.sleep(0.3)  # a steady state: heartbeats flowing, no election in progress
        started = time.monotonic()
        if graceful:
            threading.Thread(target=cluster.terminate, args=(leader,), daemon=True).start()
        else:
            cluster.kill(leader)
        times.append(first_write_after(client, leader, started))
        if graceful:
            cluster.replicas[leader].process.wait(timeout=10)  # type: ignore[union-attr]
        cluster.start(leader)
    client.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each throughput run")
    parser.add_argument("--failovers", type=int, default=10, help="leader kills to time")
    parser.add_argument("--graceful", type=int, default=5, help="graceful stops (SIGTERM) to time")
    parser.add_argument(
        "--rates", type=float, nargs="*", default=[20.0, 100.0], help="open-loop write rates (writes/s) to measure"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="raft-bench-") as scratch:
        cluster = KvCluster(Path(scratch))
        cluster.start_all()
        try:
            print(
                "3 replicas on loopback, SQLite WAL synchronous=FULL (fsync before every acknowledgement); "
                f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start"
            )
            measure_idle(cluster)
            measure_election_rpcs(cluster)
            print("-- open loop from a client process (load-independent figures):")
            for rate in args.rates:
                measure_paced(cluster, rate, args.seconds)
            print("-- proposals from a client process, one gRPC call per write:")
            measure_throughput(cluster, args.seconds)
            print("-- proposals from threads inside the leader (Raft alone: propose → committed and applied):")
            measure_in_leader(cluster, args.seconds)
            if args.failovers:
                kills = measure_failover(cluster, args.failovers, graceful=False)
                print(
                    f"failover after SIGKILL of the leader ({len(kills)} runs): "
                    f"median {statistics.median(kills):.3f} s,"
                    f" max {max(kills):.3f} s, min {min(kills):.3f} s",
                    flush=True,
                )
            if args.graceful:
                stops = measure_failover(cluster, args.graceful, graceful=True)
                print(
                    f"failover after SIGTERM (leadership transfer, {len(stops)} runs): "
                    f"median {statistics.median(stops):.3f} s, max {max(stops):.3f} s",
                    flush=True,
                )
        finally:
            cluster.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
