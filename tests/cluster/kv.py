"""Helpers for the real-cluster scenarios: a steady three-process raft_kv group, each replica's durable log read
from its own SQLite file, RPC counters, and a leader's SIGKILL timed to the first survivor that leads.
"""

from __future__ import annotations

import math
import sqlite3
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from testing.raft_kv_cluster import KvCluster
from utils.pb.raft import raft_pb2
from utils.raft.options import RaftOptions
from utils.raft.storage import FILE_NAME

OPTIONS = RaftOptions()  # what testing/raft_kv_server.py runs with (only --tick-ms and --snapshot-every differ)
HEARTBEAT_S = OPTIONS.heartbeat_ticks * OPTIONS.tick_ms / 1000
ELECTION_MIN_S = OPTIONS.election_ticks * OPTIONS.tick_ms / 1000  # the timeout is drawn from [min, 2 min)
ELECTION_MAX_S = 2 * ELECTION_MIN_S
POLL_S = 0.01


@dataclass(frozen=True, slots=True)
class LogEntry:
    index: int
    term: int
    data: bytes


@dataclass(frozen=True, slots=True)
class DurableLog:
    snapshot_index: int
    entries: tuple[LogEntry, ...]

    @property
    def last_index(self) -> int:
        return self.entries[-1].index if self.entries else self.snapshot_index

    def by_index(self) -> dict[int, LogEntry]:
        return {e.index: e for e in self.entries}

    def term_at(self, index: int) -> int | None:
        """The term of the entry at `index`; None when the log does not hold it (compacted, or past its end)."""
        first = self.entries[0].index if self.entries else self.snapshot_index + 1
        return self.entries[index - first].term if first <= index <= self.last_index else None


def read_log(cluster: KvCluster, node_id: str) -> DurableLog:
    """The replica's log as it is on disk now (SQLite in WAL mode: a reader beside the live process is safe)."""
    path = cluster.replicas[node_id].data_dir / FILE_NAME
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        with db:  # one read transaction: the snapshot row and the entries of the same moment
            snap = db.execute("SELECT idx FROM snapshot WHERE id = 0").fetchone()
            rows = db.execute("SELECT idx, term, data FROM entries ORDER BY idx").fetchall()
    finally:
        db.close()
    return DurableLog(snap[0] if snap else 0, tuple(LogEntry(i, t, bytes(d)) for i, t, d in rows))


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 10.0) -> float:
    """Seconds it took; TimeoutError naming `what` after the deadline."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(POLL_S)
    return time.monotonic() - started


def status(cluster: KvCluster, node_id: str) -> raft_pb2.StatusReply:
    reply = cluster.status(node_id, timeout_s=2.0)
    assert reply is not None, f"{node_id} does not answer Status"
    return reply


def rpcs(reply: raft_pb2.StatusReply) -> int:
    """Outgoing peer RPCs, answered or failed, since the process started."""
    return int(reply.peer_rpcs_sent + reply.peer_rpcs_failed)


def steady(cluster: KvCluster) -> str:
    """Every replica running, connected and caught up under one leader: each scenario starts from here."""
    for node_id, replica in cluster.replicas.items():
        if cluster.isolation is not None and node_id in cluster.isolation.isolated():
            cluster.heal(node_id)
        if replica.alive and replica.paused:
            cluster.resume(node_id)
        if not replica.alive:
            cluster.start(node_id)
    leader = cluster.wait_for_leader(timeout_s=20)
    cluster.wait_until_converged(timeout_s=20)
    return leader


def caught_up(cluster: KvCluster, node_id: str, leader: str) -> bool:
    """The replica holds and applied everything the leader committed."""
    mine, theirs = cluster.status(node_id), cluster.status(leader)
    return mine is not None and theirs is not None and mine.applied_index >= theirs.commit_index > 0


@dataclass(frozen=True, slots=True)
class Failover:
    seconds: float  # SIGKILL → a survivor reports itself leader of a later term
    election_rpcs: int  # peer RPCs the survivors sent meanwhile (pre-votes, votes, calls to the dead node, ...)
    rpcs_allowed: int  # the bound derived from the tick settings for that time


def kill_leader_and_time_the_election(cluster: KvCluster) -> Failover:
    """SIGKILLs the steady leader and polls the survivors until one leads; restarts nothing."""
    leader = cluster.wait_for_leader(timeout_s=20)
    survivors = [n for n in cluster.replicas if n != leader]
    before = {n: status(cluster, n) for n in survivors}
    term = status(cluster, leader).term
    killed_at = time.monotonic()
    cluster.kill(leader)
    last_without_leader = killed_at
    while True:
        now = time.monotonic()
        assert now - killed_at < 20, "no new leader within 20 s of a SIGKILL"
        current = {n: cluster.status(n) for n in survivors}
        if any(s is not None and s.role == "leader" and s.term > term for s in current.values()):
            break
        last_without_leader = now
        time.sleep(POLL_S)
    seconds = now - killed_at
    sent = sum(rpcs(s) - rpcs(before[n]) for n, s in current.items() if s is not None)
    # Each survivor sends at most one PreVote and one Vote to each of its two peers per election timeout
    # (min), and the winner one append per follower per heartbeat from its win, which came after our
    # last sample without a leader.
    rounds = math.ceil(seconds / ELECTION_MIN_S) + 1
    heartbeats = 2 * (math.ceil((now - last_without_leader) / HEARTBEAT_S) + 1)
    return Failover(seconds, sent, len(survivors) * rounds * 4 + heartbeats)


def median(values: list[float]) -> float:
    return float(statistics.median(values))
