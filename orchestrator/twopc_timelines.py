"""The order page's 2PC timeline: asks every executor replica for its journal of the order and merges them.

Any replica answers from its own memory, so the timeline survives the leader's death as far as the survivors saw
it: the logged BEGIN, decision and END (index, term) and a new leader's recovery (docs/drawings.md). Probes run in
parallel, each with its deadline; a silent replica is named as unreachable, never waited on beyond it.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import grpc

from order_executor.core.timeline import Kind, Step, TimelineStep, merge
from utils.pb.order_executor import order_executor_pb2 as pb
from utils.pb.order_executor import order_executor_pb2_grpc as pb_grpc
from utils.rpc.client import call, open_channel

PROBE_WORKERS_MAX = 6
DETAIL_CHARS_MAX = 300


def step_from_proto(entry: pb.TimelineEntry) -> Step:
    """Raises ValueError for an unknown kind (a replica running newer code): the caller drops it."""
    return Step(
        Kind(entry.kind),
        entry.at_s,
        entry.node_id,
        int(entry.term),
        int(entry.index),
        entry.participant,
        entry.ok,
        entry.detail[:DETAIL_CHARS_MAX],
        int(entry.round),
    )


@dataclass(frozen=True, slots=True)
class TwoPcTimeline:
    order_id: str
    steps: tuple[TimelineStep, ...]
    replicas: dict[str, str]  # node id → "answered" | "unreachable"
    dropped: int  # steps a replica could not keep (its journal for the order was full)

    def to_json(self) -> dict[str, Any]:
        decision = next((t.step for t in self.steps if t.step.kind is Kind.DECISION_LOGGED), None)
        return {
            "orderId": self.order_id,
            "decision": decision.detail.split(":", 1)[0] if decision else None,
            "replicas": [{"id": node, "status": status} for node, status in sorted(self.replicas.items())],
            "dropped": self.dropped,
            "steps": [_step_json(t) for t in self.steps],
        }


def _step_json(timeline_step: TimelineStep) -> dict[str, Any]:
    step = timeline_step.step
    return {
        "kind": step.kind.value,
        "at": step.at_s,
        "node": step.node_id,
        "term": step.term or None,
        "index": step.index or None,
        "participant": step.participant or None,
        "ok": step.ok,
        "detail": step.detail,
        "round": step.round,
        "appliedBy": list(timeline_step.applied_by),
    }


class TimelineSource(Protocol):
    def timeline(self, order_id: str) -> TwoPcTimeline: ...


class ExecutorTimelines:
    """Thread-safe; one channel per replica, opened on first use."""

    def __init__(self, peers: dict[str, str], timeout_s: float) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self.peers = dict(sorted(peers.items()))
        self.timeout_s = timeout_s
        self._stubs: dict[str, pb_grpc.OrderExecutorStub] = {}
        self._channels: list[grpc.Channel] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=PROBE_WORKERS_MAX, thread_name_prefix="timeline-probe")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            for channel in self._channels:
                channel.close()

    def timeline(self, order_id: str) -> TwoPcTimeline:
        futures = {node: self._pool.submit(self._ask, address, order_id) for node, address in self.peers.items()}
        journals: list[list[Step]] = []
        replicas: dict[str, str] = {}
        dropped = 0
        for node, future in futures.items():
            reply = future.result()
            if reply is None:
                replicas[node] = "unreachable"
                continue
            replicas[node] = "answered"
            dropped += reply.dropped
            steps = []
            for entry in reply.entries:
                try:
                    steps.append(step_from_proto(entry))
                except ValueError:
                    dropped += 1  # a kind this gateway does not know: a replica runs newer code
            journals.append(steps)
        return TwoPcTimeline(order_id, tuple(merge(journals)), replicas, dropped)

    def _stub(self, address: str) -> pb_grpc.OrderExecutorStub:
        with self._lock:
            stub = self._stubs.get(address)
            if stub is None:
                node_id = next(n for n, a in self.peers.items() if a == address)  # its certificate names it
                channel = open_channel(address, node_id, retries=False)
                self._channels.append(channel)
                stub = self._stubs[address] = pb_grpc.OrderExecutorStub(channel)
            return stub

    def _ask(self, address: str, order_id: str) -> pb.GetTimelineReply | None:
        try:
            reply: pb.GetTimelineReply = call(
                self._stub(address).GetTimeline, pb.GetTimelineRequest(tx_id=order_id), timeout_s=self.timeout_s
            )
        except grpc.RpcError:
            return None
        return reply
