"""Three executor replicas in this process on real Raft over gRPC (port numbers picked free): GetDecision
from the leader, redirects from followers, presumed abort for a transaction nobody began, Status.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from order_executor.core.decision_log import DecisionLog, encode_begin, encode_decision
from order_executor.core.order import Item, OrderSummary, Outcome
from order_executor.server import NO_RECORD_REASON, SERVICE_NAME, ExecutorServicer
from payment_service.decision_client import ExecutorDecisionClient
from testing.local_fleet import free_port
from testing.pki import RoutedChannel, harness_tls
from utils.pb.order_executor import order_executor_pb2 as pb
from utils.pb.order_executor import order_executor_pb2_grpc as pb_grpc
from utils.raft.node import RaftNode
from utils.rpc.leader_client import metadata_value
from utils.rpc.server import GrpcService


class Replica:
    def __init__(self, node_id: str, peers: dict[str, str], data: Path) -> None:
        self.log = DecisionLog()
        self.node = RaftNode(node_id, peers, data / node_id, self.log)
        servicer = ExecutorServicer(self.node, lambda: [])
        self.service = GrpcService(
            node_id,
            peers[node_id],
            [lambda s: pb_grpc.add_OrderExecutorServicer_to_server(servicer, s), self.node.register],
            [SERVICE_NAME],
            shutdown_grace_s=0.1,
            identity=node_id,
        )
        self.service.start()
        self.node.start()

    def stop(self) -> None:
        self.node.stop(transfer_leadership=False)
        self.service.stop()


@pytest.fixture
def group(tmp_path: Path) -> Iterator[tuple[dict[str, str], dict[str, Replica]]]:
    peers = {f"executor-{i}": f"127.0.0.1:{free_port()}" for i in (1, 2, 3)}
    replicas = {node_id: Replica(node_id, peers, tmp_path) for node_id in peers}
    yield peers, replicas
    for replica in replicas.values():
        replica.stop()


def leader_of(replicas: dict[str, Replica], timeout_s: float = 15.0) -> Replica:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        leaders = [r for r in replicas.values() if r.node.is_leader()]
        if leaders:
            return leaders[0]
        time.sleep(0.05)
    raise AssertionError("no leader elected")


def test_get_decision_follows_the_log_and_presumes_abort_for_unknown_transactions(
    group: tuple[dict[str, str], dict[str, Replica]],
) -> None:
    peers, replicas = group
    leader = leader_of(replicas)
    leader.node.propose(encode_begin(OrderSummary("o1", (Item("b", 1, 100),), 100)))
    leader.node.propose(encode_decision("o1", Outcome.COMMIT, ""))
    leader.node.propose(encode_begin(OrderSummary("o2", (Item("b", 1, 100),), 100)))
    client = ExecutorDecisionClient(peers, timeout_s=5.0, tls=harness_tls("payment_service"))
    try:
        assert client.get_decision("o1").outcome == "COMMIT"
        assert client.get_decision("o2").outcome is None, "begun, undecided: the leader will decide"
        answer = client.get_decision("o3")
        assert (answer.outcome, answer.reason) == ("ABORT", NO_RECORD_REASON)
        assert answer.term == leader.node.status().term
    finally:
        client.close()
    # The presumed abort is in the replicated log, so a later BEGIN of o3 finds it decided.
    applied = leader.node.propose(encode_begin(OrderSummary("o3", (Item("b", 1, 100),), 100)))
    assert not applied.changed and applied.record.decision is Outcome.ABORT


def test_followers_redirect_to_the_leader_and_every_replica_reports_status(
    group: tuple[dict[str, str], dict[str, Replica]],
) -> None:
    peers, replicas = group
    leader = leader_of(replicas)
    follower = next(r for r in replicas.values() if r is not leader)
    deadline = time.monotonic() + 10
    while follower.node.leader_id != leader.node.node_id and time.monotonic() < deadline:
        time.sleep(0.05)  # the follower learns the leader from its first heartbeat
    with RoutedChannel(peers[follower.node.node_id], follower.node.node_id) as channel:
        stub = pb_grpc.OrderExecutorStub(channel)
        with pytest.raises(grpc.RpcError) as error:
            stub.GetDecision(pb.GetDecisionRequest(tx_id="o1"), timeout=5)
        assert error.value.code() is grpc.StatusCode.FAILED_PRECONDITION
        assert metadata_value(error.value, "x-leader-address") == peers[leader.node.node_id]
        status = stub.Status(pb.StatusRequest(), timeout=5)
    assert (status.role, status.leader_id) == ("follower", leader.node.node_id)
