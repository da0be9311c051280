"""GET /cluster's data source over real gRPC: replicas answering the Raft Status RPC (on port 0) are shown
with role, term, leader and log position; a silent address is "unreachable"; the queue depth comes along.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest

from orchestrator.cluster_view import ProbingClusterView
from testing.local_fleet import free_port
from tests.services.orchestrator.fakes import FakeQueue, FakeRpcError
from utils.pb.raft import raft_pb2, raft_pb2_grpc
from utils.rpc.server import GrpcService
from utils.settings import FleetSettings


class FakeRaft(raft_pb2_grpc.RaftServicer):
    def __init__(self, node_id: str, role: str, term: int, leader_id: str) -> None:
        self.reply = raft_pb2.StatusReply(
            node_id=node_id, role=role, term=term, leader_id=leader_id, commit_index=7, applied_index=6, last_index=9
        )

    def Status(self, request: raft_pb2.StatusRequest, context: grpc.ServicerContext) -> raft_pb2.StatusReply:
        return self.reply


def _registrar(servicer: FakeRaft) -> Callable[[grpc.Server], None]:
    return lambda server: raft_pb2_grpc.add_RaftServicer_to_server(servicer, server)


@pytest.fixture
def replicas() -> Iterator[dict[str, str]]:
    services = []
    addresses = {}
    for node_id, role, term in (
        ("executor-1", "leader", 3),
        ("executor-2", "follower", 3),
        ("executor-3", "pre_candidate", 2),
    ):
        servicer = FakeRaft(node_id, role, term, "executor-1" if role != "pre_candidate" else "")
        service = GrpcService(
            node_id,
            "127.0.0.1:0",
            [_registrar(servicer)],
            ["bookstore.raft.Raft"],
            shutdown_grace_s=0.1,
            identity=node_id,
        )
        addresses[node_id] = f"127.0.0.1:{service.start()}"
        services.append(service)
    yield addresses
    for service in services:
        service.stop()


def _view(executors: dict[str, str], queue: Any) -> ProbingClusterView:
    silent = ",".join(f"books-{i}=127.0.0.1:{free_port()}" for i in (1, 2, 3))
    settings = FleetSettings(
        order_executor_peers=",".join(f"{k}={v}" for k, v in executors.items()), books_database_peers=silent
    )
    return ProbingClusterView(settings, queue, probe_timeout_s=0.5)


def test_replicas_report_their_raft_status_and_silent_ones_are_unreachable(replicas: dict[str, str]) -> None:
    view = _view(replicas, FakeQueue())
    try:
        snapshot = view.snapshot()
    finally:
        view.close()
    executors = snapshot["groups"]["order_executor"]
    assert (executors["leaderId"], executors["term"]) == ("executor-1", 3)
    by_id = {r["id"]: r for r in executors["replicas"]}
    assert by_id["executor-1"] == {
        "id": "executor-1",
        "address": replicas["executor-1"],
        "role": "leader",
        "term": 3,
        "leaderId": "executor-1",
        "commitIndex": 7,
        "appliedIndex": 6,
        "lastIndex": 9,
        "logTail": [],
        "matchIndex": {},
        "elections": [],
    }
    assert by_id["executor-2"]["role"] == "follower"
    assert by_id["executor-3"]["role"] == "candidate" and by_id["executor-3"]["leaderId"] is None
    books = snapshot["groups"]["books_database"]
    assert books["leaderId"] is None
    assert [r["role"] for r in books["replicas"]] == ["unreachable"] * 3
    assert snapshot["queue"] == {"available": True, "depth": 0, "leased": 0}


def test_the_queue_down_shows_an_unknown_depth(replicas: dict[str, str]) -> None:
    class DownQueue:
        def stats(self, timeout_s: float | None = None) -> Any:
            raise FakeRpcError(grpc.StatusCode.UNAVAILABLE)

    view = _view(replicas, DownQueue())
    try:
        assert view.snapshot()["queue"] == {"available": False, "depth": None, "leased": None}
    finally:
        view.close()
