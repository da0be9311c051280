"""A client of the raft_kv test service that finds the leader and classifies every outcome.

A write's outcome is OK, FAILED (certainly not applied: safe to retry) or UNKNOWN (may or may not
commit); a linearizability history records UNKNOWN writes as never returning.
"""

from __future__ import annotations

import enum
import itertools
import time

import grpc

from testing.pb.raft_kv import raft_kv_pb2, raft_kv_pb2_grpc
from testing.pki import harness_tls
from utils.rpc.status import NOT_APPLIED, RAFT_OUTCOME_KEY, leader_hint, metadata_value

RETRY_PAUSE_S = 0.02


class Outcome(enum.Enum):
    OK = "ok"
    FAILED = "failed"
    UNKNOWN = "unknown"


def classify(error: grpc.RpcError) -> tuple[Outcome, str | None]:
    """The outcome an error implies, and the leader it names (if any)."""
    code = error.code()
    if code is grpc.StatusCode.FAILED_PRECONDITION:
        return Outcome.FAILED, (leader_hint(error).leader_id or None)
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED:
        return Outcome.FAILED, None
    if code is grpc.StatusCode.UNAVAILABLE:
        # The server says "not applied", or the connection was never made: the request never ran.
        if metadata_value(error, RAFT_OUTCOME_KEY) == NOT_APPLIED:
            return Outcome.FAILED, None
        details = (error.details() or "").lower()
        if "failed to connect" in details or "connection refused" in details:
            return Outcome.FAILED, None
    return Outcome.UNKNOWN, None


class KvClient:
    def __init__(self, addresses: dict[str, str], rpc_timeout_s: float = 1.0) -> None:
        self._ids = sorted(addresses)
        self._channels = {
            n: harness_tls().secure_channel(
                a, n, [("grpc.initial_reconnect_backoff_ms", 50), ("grpc.max_reconnect_backoff_ms", 200)]
            )
            for n, a in addresses.items()
        }
        self._stubs = {n: raft_kv_pb2_grpc.RaftKVStub(c) for n, c in self._channels.items()}
        self._rotation = itertools.cycle(self._ids)
        self.leader: str | None = None
        self.rpc_timeout_s = rpc_timeout_s

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()

    def _target(self) -> str:
        return self.leader if self.leader is not None else next(self._rotation)

    def _failed_at(self, node_id: str, hint: str | None) -> None:
        self.leader = hint if hint in self._stubs and hint != node_id else None

    def write(self, op: str, key: str, value: str, timeout_s: float = 3.0, node_id: str | None = None) -> Outcome:
        """Put or append; retries only what certainly did not apply, so a write never applies twice."""
        deadline = time.monotonic() + timeout_s
        request = raft_kv_pb2.WriteRequest(key=key, value=value)
        while (remaining := deadline - time.monotonic()) > 0:
            target = node_id or self._target()
            method = self._stubs[target].Put if op == "put" else self._stubs[target].Append
            try:
                method(request, timeout=min(self.rpc_timeout_s, remaining))
                self.leader = target
                return Outcome.OK
            except grpc.RpcError as error:
                outcome, hint = classify(error)
                if outcome is Outcome.UNKNOWN or node_id is not None:
                    self.leader = None
                    return outcome
                self._failed_at(target, hint)
                time.sleep(RETRY_PAUSE_S)
        return Outcome.FAILED

    def get(self, key: str, timeout_s: float = 3.0, node_id: str | None = None) -> str | None:
        """A linearizable read; None when no leader answered in time (reads have no effect to record)."""
        deadline = time.monotonic() + timeout_s
        while (remaining := deadline - time.monotonic()) > 0:
            target = node_id or self._target()
            try:
                reply = self._stubs[target].Get(
                    raft_kv_pb2.GetRequest(key=key), timeout=min(self.rpc_timeout_s, remaining)
                )
                self.leader = target
                return str(reply.value)
            except grpc.RpcError as error:
                if node_id is not None:
                    return None
                self._failed_at(target, classify(error)[1])
                time.sleep(RETRY_PAUSE_S)
        return None
