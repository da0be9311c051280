"""The order queue over real gRPC: in-process on port 0 for the RPC contract, and as a real process
(`python -m order_queue`) for durability across SIGKILL and restart.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from order_queue.client import PEER, OrderQueueClient
from order_queue.core.policy import PriorityPolicy
from order_queue.server import SERVICE_NAME, OrderQueueServicer
from order_queue.store import QueueStore
from testing.local_fleet import running_fleet
from testing.pki import RoutedChannel
from utils.order.order import ITEMS_MAX
from utils.pb.order_queue import order_queue_pb2 as pb
from utils.pb.order_queue import order_queue_pb2_grpc as pb_grpc
from utils.rpc.server import GrpcService


def _order(order_id: str, shipping: str = "standard", quantity: int = 1, last4: str = "1111") -> pb.Order:
    return pb.Order(
        order_id=order_id,
        items=[pb.OrderItem(book_id="book_101_clean_code", title="Clean Code", quantity=quantity)],
        user_name="Ada",
        user_contact="ada@example.com",
        shipping_method=shipping,
        billing_country="Estonia",
        card_last4=last4,
    )


@pytest.fixture
def client(tmp_path: Path) -> Iterator[OrderQueueClient]:
    store = QueueStore(tmp_path / "q.sqlite3", PriorityPolicy(), depth_max=3, final_records_max=100)
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
    queue = OrderQueueClient(f"127.0.0.1:{port}", channel=RoutedChannel(f"127.0.0.1:{port}", PEER))
    yield queue
    queue.close()
    service.stop()
    store.close()


def _lease(client: OrderQueueClient, worker_id: str, lease_s: float) -> pb.LeaseReply | None:
    """One order with its lease, EXECUTING from it, as the executors take it (a LeaseBatch of one, no wait)."""
    leases = client.lease_batch(worker_id, lease_s, count_max=1, wait_s=0.0)
    return leases[0] if leases else None


def _ack(
    client: OrderQueueClient, order_id: str, lease_id: str, outcome: pb.OrderState, reason: str = "", total: str = ""
) -> tuple[grpc.StatusCode, pb.OrderState]:
    """One ack as the executors send it (an AckBatch of one): its own status code and the order's state."""
    request = pb.AckRequest(order_id=order_id, lease_id=lease_id, outcome=outcome, reason=reason, total=total)
    [result] = client.ack_batch([request])
    code = next(c for c in grpc.StatusCode if c.value[0] == result.code)
    return code, result.state


def _code(error: pytest.ExceptionInfo[grpc.RpcError]) -> grpc.StatusCode:
    code: grpc.StatusCode = error.value.code()
    return code


def test_enqueue_lease_execute_ack_and_the_record_shows_each_step(client: OrderQueueClient) -> None:
    reply = client.enqueue(_order("o1"))
    assert reply.created and reply.depth == 1 and reply.order.enqueued_at > 0
    assert client.get_order("o1").state == pb.QUEUED  # type: ignore[union-attr]
    leased = _lease(client, "executor-1", 30.0)
    assert leased is not None and leased.order.order_id == "o1" and leased.order.card_last4 == "1111"
    assert client.get_order("o1").state == pb.EXECUTING  # type: ignore[union-attr]
    assert _ack(client, "o1", leased.lease_id, pb.COMMITTED, total="34.99") == (grpc.StatusCode.OK, pb.COMMITTED)
    record = client.get_order("o1")
    assert record is not None and (record.state, record.total, record.attempts) == (pb.COMMITTED, "34.99", 1)
    assert client.stats().depth == 0


def test_priority_order_over_the_wire(client: OrderQueueClient) -> None:
    client.enqueue(_order("slow"))
    client.enqueue(_order("fast", shipping="express"))
    first = _lease(client, "w", 10.0)
    assert first is not None and first.order.order_id == "fast"


def test_an_empty_queue_leases_nothing(client: OrderQueueClient) -> None:
    assert _lease(client, "w", 10.0) is None


def test_a_full_queue_answers_resource_exhausted(client: OrderQueueClient) -> None:
    for i in range(3):
        client.enqueue(_order(f"o{i}"))
    with pytest.raises(grpc.RpcError) as error:
        client.enqueue(_order("one-too-many"))
    assert _code(error) == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert not client.enqueue(_order("o1")).created  # a repeat of a known id is still answered


def test_a_superseded_lease_is_refused_but_a_repeated_final_outcome_is_accepted(client: OrderQueueClient) -> None:
    client.enqueue(_order("o1"))
    first = _lease(client, "w1", 10.0)
    assert first is not None
    client.nack("o1", first.lease_id)
    second = _lease(client, "w2", 10.0)
    assert second is not None
    assert _ack(client, "o1", first.lease_id, pb.COMMITTED)[0] == grpc.StatusCode.FAILED_PRECONDITION
    assert _ack(client, "o1", second.lease_id, pb.ABORTED, reason="declined") == (grpc.StatusCode.OK, pb.ABORTED)
    assert _ack(client, "o1", first.lease_id, pb.ABORTED, reason="declined") == (grpc.StatusCode.OK, pb.ABORTED)


def test_a_new_leader_records_a_decided_outcome_without_the_lease(client: OrderQueueClient) -> None:
    client.enqueue(_order("o1"))
    assert _lease(client, "old-leader", 10.0) is not None
    assert client.set_state("o1", pb.ABORTED, reason="presumed abort") == pb.ABORTED
    assert client.get_order("o1").reason == "presumed abort"  # type: ignore[union-attr]


def test_rejected_orders_are_recorded_with_their_reason(client: OrderQueueClient) -> None:
    assert client.record_rejected(_order("r1"), "Invalid credit card format")
    record = client.get_order("r1")
    assert record is not None and (record.state, record.reason) == (pb.REJECTED, "Invalid credit card format")
    assert client.stats().depth == 0


def test_bad_input_answers_invalid_argument_and_unknown_ids_not_found(client: OrderQueueClient) -> None:
    too_long = _order("o3")
    too_long.items.extend([too_long.items[0]] * ITEMS_MAX)  # ITEMS_MAX + 1 lines: the wire edge refuses it
    for bad in (_order(""), _order("o1", last4="4111111111111111"), _order("o2", quantity=0), too_long):
        with pytest.raises(grpc.RpcError) as error:
            client.enqueue(bad)
        assert _code(error) == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as error:
        _lease(client, "w", 3600.0)
    assert _code(error) == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as error:
        client.set_state("o1", pb.REJECTED)
    assert _code(error) == grpc.StatusCode.INVALID_ARGUMENT
    assert client.get_order("nope") is None
    with pytest.raises(grpc.RpcError) as error:
        client.nack("nope", "L")
    assert _code(error) == grpc.StatusCode.NOT_FOUND


@pytest.mark.fleet
def test_queued_orders_survive_sigkill_and_restart_of_the_process(tmp_path: Path) -> None:
    with running_fleet(tmp_path, only={"order_queue"}) as rf:
        address = rf.settings.order_queue_addr
        queue = OrderQueueClient(address, channel=RoutedChannel(address, PEER, rf.tls().tls_dir))
        queue.enqueue(_order("standard"))
        queue.enqueue(_order("express", shipping="express"))
        queue.record_rejected(_order("rejected"), "terms not accepted")
        rf.fleet.kill("order_queue")
        rf.fleet.start("order_queue")
        rf.fleet.wait_healthy(["order_queue"], timeout_s=30)
        assert queue.stats().depth == 2
        assert queue.get_order("rejected").state == pb.REJECTED  # type: ignore[union-attr]
        first, second = _lease(queue, "w", 10.0), _lease(queue, "w", 10.0)
        assert first is not None and second is not None
        assert (first.order.order_id, second.order.order_id) == ("express", "standard")
        queue.close()
