"""The executor's QueueReporter against a real queue (in-process gRPC, real SQLite): outcomes reach the queue
through AckBatch under the lease, and through SetState when a newer lease superseded it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from order_executor.core.order import OrderSummary, Outcome
from order_executor.reporting import QueueReporter
from order_queue.client import PEER, OrderQueueClient
from order_queue.core.policy import PriorityPolicy
from order_queue.server import SERVICE_NAME, OrderQueueServicer
from order_queue.store import QueueStore
from testing.pki import RoutedChannel
from utils.pb.order_queue import order_queue_pb2 as pb
from utils.pb.order_queue import order_queue_pb2_grpc as pb_grpc
from utils.rpc.server import GrpcService


@pytest.fixture
def queue(tmp_path: Path) -> Iterator[OrderQueueClient]:
    store = QueueStore(tmp_path / "q.sqlite3", PriorityPolicy(), depth_max=10, final_records_max=100)
    servicer = OrderQueueServicer(store, lease_s_max=60.0)
    service = GrpcService(
        "order_queue",
        "127.0.0.1:0",
        [lambda s: pb_grpc.add_OrderQueueServicer_to_server(servicer, s)],
        [SERVICE_NAME],
        shutdown_grace_s=0.2,
        identity=PEER,
    )
    port = service.start()
    client = OrderQueueClient(f"127.0.0.1:{port}", channel=RoutedChannel(f"127.0.0.1:{port}", PEER))
    yield client
    client.close()
    service.stop()
    store.close()


def _enqueue(queue: OrderQueueClient, order_id: str) -> None:
    queue.enqueue(pb.Order(order_id=order_id, items=[pb.OrderItem(book_id="b", title="B", quantity=1)]))


def test_an_outcome_under_the_current_lease_is_acked(queue: OrderQueueClient) -> None:
    _enqueue(queue, "o1")
    (leased,) = queue.lease_batch("executor-1", 30.0, 1, 0.0)
    QueueReporter(queue).report(OrderSummary("o1", (), 0), Outcome.COMMIT, "", leased.lease_id)
    record = queue.get_order("o1")
    assert record is not None and (record.state, record.attempts) == (pb.COMMITTED, 1)


def test_an_outcome_whose_lease_was_superseded_is_recorded_without_it(queue: OrderQueueClient) -> None:
    _enqueue(queue, "o1")
    (first,) = queue.lease_batch("old-leader", 30.0, 1, 0.0)
    queue.nack("o1", first.lease_id)
    (second,) = queue.lease_batch("new-leader", 30.0, 1, 0.0)
    assert second.lease_id != first.lease_id
    QueueReporter(queue).report(OrderSummary("o1", (), 0), Outcome.ABORT, "declined", first.lease_id)
    record = queue.get_order("o1")
    assert record is not None and (record.state, record.reason) == (pb.ABORTED, "declined")
