"""GET /cluster shows a participant's refusal of the executor group's incarnation (docs/operations.md): the
executor leader's Status says it, and the view carries it beside the group's incarnation."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from tests.services.orchestrator.fakes import FakeQueue
from tests.services.orchestrator.test_cluster_view import FakeRaft, _registrar, _view
from utils.pb.order_executor import order_executor_pb2 as pb
from utils.pb.order_executor import order_executor_pb2_grpc as pb_grpc
from utils.rpc.server import GrpcService

REFUSAL = "payment_service: the executor group's incarnation changed: ... `python -m order_executor.recover`"


class FakeExecutor(pb_grpc.OrderExecutorServicer):
    def Status(self, request: pb.StatusRequest, context: grpc.ServicerContext) -> pb.StatusReply:
        return pb.StatusReply(node_id="executor-1", role="leader", term=2, incarnation="inc-2", fenced_out=REFUSAL)


@pytest.fixture
def fenced_leader() -> Iterator[dict[str, str]]:
    executor = FakeExecutor()
    service = GrpcService(
        "executor-1",
        "127.0.0.1:0",
        [
            _registrar(FakeRaft("executor-1", "leader", 2, "executor-1")),
            lambda s: pb_grpc.add_OrderExecutorServicer_to_server(executor, s),
        ],
        ["bookstore.raft.Raft", "bookstore.order_executor.OrderExecutor"],
        shutdown_grace_s=0.1,
        identity="executor-1",
    )
    yield {"executor-1": f"127.0.0.1:{service.start()}"}
    service.stop()


def test_the_cluster_view_shows_the_incarnation_and_the_refusal_naming_the_operator_command(
    fenced_leader: dict[str, str],
) -> None:
    view = _view(fenced_leader, FakeQueue())
    try:
        executors = view.snapshot()["groups"]["order_executor"]
    finally:
        view.close()
    assert executors["incarnation"] == "inc-2"
    assert executors["fencedOut"] == REFUSAL and "python -m order_executor.recover" in executors["fencedOut"]
