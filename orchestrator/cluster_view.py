"""What `GET /cluster` shows: each Raft replica's role, term, leader and log position, and the queue depth; for the
executor group also its incarnation and, while a participant refuses it, the refusal (docs/operations.md). For the
Cluster tab's drawing (docs/watching.md): each replica's log tail, the leader's match index per follower, and the
group's election history merged from what each replica saw.

Every replica serves the Raft service's Status RPC on its own port; a replica that does not answer
within the probe deadline is "unreachable". One replica's silence never delays the others' (probes
run in parallel, each with its own deadline).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import grpc

from utils.pb.order_executor import order_executor_pb2, order_executor_pb2_grpc
from utils.pb.raft import raft_pb2, raft_pb2_grpc
from utils.rpc.client import call, open_channel
from utils.settings import FleetSettings

GROUPS = ("order_executor", "books_database")
PROBE_WORKERS_MAX = 8
ELECTIONS_SHOWN_MAX = 16  # a group's merged history, newest kept
# The Raft core's roles as docs/design.md §7 names them; a pre-candidate is campaigning, so "candidate".
_ROLES = {"leader": "leader", "follower": "follower", "candidate": "candidate", "pre_candidate": "candidate"}


@dataclass(frozen=True, slots=True)
class ReplicaView:
    id: str
    address: str
    role: str  # leader | follower | candidate | unreachable
    term: int | None = None
    leader_id: str | None = None
    commit_index: int | None = None
    applied_index: int | None = None
    last_index: int | None = None
    log_tail: tuple[dict[str, Any], ...] = ()  # {index, term, kind}, oldest first
    match_index: dict[str, int] = field(default_factory=dict)  # leader only
    elections: tuple[dict[str, Any], ...] = ()  # {term, winner, at, why}, what this replica saw

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "address": self.address,
            "role": self.role,
            "term": self.term,
            "leaderId": self.leader_id,
            "commitIndex": self.commit_index,
            "appliedIndex": self.applied_index,
            "lastIndex": self.last_index,
            "logTail": list(self.log_tail),
            "matchIndex": dict(self.match_index),
            "elections": list(self.elections),
        }


class QueueStatsSource(Protocol):
    def stats(self, timeout_s: float | None = None) -> Any: ...


class ClusterView(Protocol):
    def snapshot(self) -> dict[str, Any]: ...


def group_json(replicas: list[ReplicaView]) -> dict[str, Any]:
    # The leader as the replicas see it: the one claiming leadership in the highest term (a deposed one lags).
    leaders = [r for r in replicas if r.role == "leader"]
    leader = max(leaders, key=lambda r: r.term or 0) if leaders else None
    return {
        "leaderId": leader.id if leader else None,
        "term": leader.term if leader else None,
        "replicas": [r.to_json() for r in replicas],
        "elections": merged_elections(replicas),
    }


def merged_elections(replicas: list[ReplicaView]) -> list[dict[str, Any]]:
    """One line per term, newest last: the winner's own record where it answered (it alone knows why it
    campaigned), else the earliest sighting by another replica; `seenBy` counts the replicas that saw it."""
    by_term: dict[int, dict[str, Any]] = {}
    for replica in replicas:
        for record in replica.elections:
            term = int(record["term"])
            mine = record["winner"] == replica.id
            known = by_term.get(term)
            if known is None:
                by_term[term] = {**record, "seenBy": 1, "_own": mine}
                continue
            known["seenBy"] += 1
            if (mine and not known["_own"]) or (mine == known["_own"] and record["at"] < known["at"]):
                by_term[term] = {**record, "seenBy": known["seenBy"], "_own": mine}
    merged = [by_term[t] for t in sorted(by_term)][-ELECTIONS_SHOWN_MAX:]
    return [{k: v for k, v in line.items() if k != "_own"} for line in merged]


class ProbingClusterView:
    """Asks every replica of both groups for its Raft status, and the queue for its depth."""

    def __init__(self, settings: FleetSettings, queue: QueueStatsSource, probe_timeout_s: float) -> None:
        self.groups = {"order_executor": settings.executor_peers(), "books_database": settings.database_peers()}
        self.queue = queue
        self.probe_timeout_s = probe_timeout_s
        self._stubs: dict[str, raft_pb2_grpc.RaftStub] = {}
        self._executor_stubs: dict[str, order_executor_pb2_grpc.OrderExecutorStub] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=PROBE_WORKERS_MAX, thread_name_prefix="cluster-probe")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def snapshot(self) -> dict[str, Any]:
        futures = {
            group: [self._pool.submit(self._probe, node_id, address) for node_id, address in sorted(peers.items())]
            for group, peers in self.groups.items()
        }
        queue = self._pool.submit(self._queue_stats)
        groups = {group: group_json([f.result() for f in pending]) for group, pending in futures.items()}
        groups["order_executor"].update(self._executor_fence(groups["order_executor"]["leaderId"]))
        return {"groups": groups, "queue": queue.result()}

    def _executor_fence(self, leader_id: str | None) -> dict[str, Any]:
        """The executor leader's incarnation, and a participant's refusal of it (the group lost its data): then the
        operator command is due, and the leader leases nothing."""
        address = self.groups["order_executor"].get(leader_id or "")
        if leader_id is None or address is None:
            return {"incarnation": None, "fencedOut": None}
        with self._lock:
            stub = self._executor_stubs.get(address)
            if stub is None:
                channel = open_channel(address, leader_id, retries=False)
                stub = self._executor_stubs[address] = order_executor_pb2_grpc.OrderExecutorStub(channel)
        try:
            status = call(stub.Status, order_executor_pb2.StatusRequest(), timeout_s=self.probe_timeout_s)
        except grpc.RpcError:
            return {"incarnation": None, "fencedOut": None}
        return {"incarnation": status.incarnation or None, "fencedOut": status.fenced_out or None}

    def _stub(self, node_id: str, address: str) -> raft_pb2_grpc.RaftStub:
        with self._lock:
            stub = self._stubs.get(address)
            if stub is None:
                stub = self._stubs[address] = raft_pb2_grpc.RaftStub(open_channel(address, node_id, retries=False))
            return stub

    def _probe(self, node_id: str, address: str) -> ReplicaView:
        try:
            status = call(self._stub(node_id, address).Status, raft_pb2.StatusRequest(), timeout_s=self.probe_timeout_s)
        except grpc.RpcError:
            return ReplicaView(node_id, address, "unreachable")
        return ReplicaView(
            node_id,
            address,
            _ROLES.get(status.role, "unreachable"),
            int(status.term),
            status.leader_id or None,
            int(status.commit_index),
            int(status.applied_index),
            int(status.last_index),
            tuple({"index": int(e.index), "term": int(e.term), "kind": e.kind} for e in status.log_tail),
            {peer: int(index) for peer, index in sorted(status.match_index.items())},
            tuple(
                {"term": int(e.term), "winner": e.winner, "at": float(e.at_unix_s), "why": e.why or None}
                for e in status.elections
            ),
        )

    def _queue_stats(self) -> dict[str, Any]:
        try:
            stats = self.queue.stats(timeout_s=self.probe_timeout_s)
        except grpc.RpcError:
            return {"available": False, "depth": None, "leased": None}
        return {"available": True, "depth": int(stats.depth), "leased": int(stats.leased)}
