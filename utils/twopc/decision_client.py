"""Asks the order-executor group for a transaction's decision, wherever its leader is now (both participants).

Built on utils.rpc.leader_client: followers redirect (FAILED_PRECONDITION + x-leader-address), dead replicas are
skipped. The question carries the incarnation the participant follows, so another group never answers it.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from utils.pb.order_executor import order_executor_pb2 as pb
from utils.pb.order_executor import order_executor_pb2_grpc as pb_grpc
from utils.rpc.leader_client import LeaderClient
from utils.tls import FleetTls


@dataclass(frozen=True, slots=True)
class DecisionAnswer:
    outcome: str | None  # "COMMIT", "ABORT", or None while undecided
    reason: str
    term: int
    incarnation: str = ""  # the answering group's incarnation


class DecisionUnavailable(Exception):
    """No executor replica could answer now (no leader, all unreachable, or the group is another incarnation)."""


class ExecutorDecisionClient:
    def __init__(self, peers: dict[str, str], timeout_s: float = 2.0, tls: FleetTls | None = None) -> None:
        self._group: LeaderClient[pb_grpc.OrderExecutorStub] = LeaderClient(peers, pb_grpc.OrderExecutorStub, tls=tls)
        self._timeout_s = timeout_s

    def close(self) -> None:
        self._group.close()

    def get_decision(self, tx_id: str, incarnation: str = "") -> DecisionAnswer:
        request = pb.GetDecisionRequest(tx_id=tx_id, incarnation=incarnation)
        try:
            reply = self._group.call(lambda stub: stub.GetDecision, request, timeout_s=self._timeout_s)
        except grpc.RpcError as error:
            raise DecisionUnavailable(f"no executor answered GetDecision({tx_id}): {error}") from None
        outcome = {pb.DECISION_COMMIT: "COMMIT", pb.DECISION_ABORT: "ABORT"}.get(reply.decision)
        return DecisionAnswer(outcome, reply.reason, int(reply.term), str(reply.incarnation))
