"""Asks the order-executor group for a transaction's decision, following leader redirects.

Followers answer FAILED_PRECONDITION with the leader in trailing metadata (x-leader-address); we go there next.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import grpc

from utils.pb.order_executor import order_executor_pb2 as pb
from utils.pb.order_executor import order_executor_pb2_grpc as pb_grpc
from utils.rpc.client import call, open_channel

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DecisionAnswer:
    outcome: str | None          # "COMMIT", "ABORT", or None while undecided
    reason: str
    term: int


class DecisionUnavailable(Exception):
    """No executor replica could answer now (no leader, or all unreachable)."""


class ExecutorDecisionClient:
    def __init__(self, peers: dict[str, str], timeout_s: float = 1.0) -> None:
        if not peers:
            raise ValueError("the executor group needs at least one replica address")
        self._addresses = [peers[node_id] for node_id in sorted(peers)]
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._stubs: dict[str, pb_grpc.OrderExecutorStub] = {}
        self._leader: str | None = None

    def _stub(self, address: str) -> pb_grpc.OrderExecutorStub:
        with self._lock:
            if address not in self._stubs:
                self._stubs[address] = pb_grpc.OrderExecutorStub(open_channel(address))
            return self._stubs[address]

    def get_decision(self, tx_id: str) -> DecisionAnswer:
        tried: list[str] = []
        order = ([self._leader] if self._leader else []) + self._addresses
        attempts_max = 2 * len(self._addresses)
        while order and len(tried) < attempts_max:
            address = order.pop(0)
            tried.append(address)
            try:
                reply = call(self._stub(address).GetDecision, pb.GetDecisionRequest(tx_id=tx_id),
                             timeout_s=self._timeout_s)
            except grpc.RpcError as error:
                hint = _leader_hint(error)
                if hint and hint not in tried[-1:]:
                    order.insert(0, hint)
                continue
            self._leader = address
            outcome = {pb.DECISION_COMMIT: "COMMIT", pb.DECISION_ABORT: "ABORT"}.get(reply.decision)
            return DecisionAnswer(outcome, reply.reason, reply.term)
        raise DecisionUnavailable(f"no executor answered GetDecision({tx_id}); tried {', '.join(tried)}")


def _leader_hint(error: grpc.RpcError) -> str | None:
    if not isinstance(error, grpc.Call) or error.code() is not grpc.StatusCode.FAILED_PRECONDITION:
        return None
    for key, value in error.trailing_metadata() or ():
        if key == "x-leader-address" and value:
            return str(value)
    return None
