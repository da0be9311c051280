"""LeaseBatch, AckBatch and the executor side's AckBatcher over real gRPC, with the real SQLite file.

The server runs in-process on port 0; waits are on conditions with deadlines (a future's result, a waiter count).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from order_queue.ack_batcher import AckBatcher
from order_queue.client import PEER, OrderQueueClient
from order_queue.core.policy import PriorityPolicy
from order_queue.server import SERVICE_NAME, BatchLimits, OrderQueueServicer
from order_queue.store import QueueStore
from testing.pki import RoutedChannel
from utils.pb.order_queue import order_queue_pb2 as pb
from utils.pb.order_queue import order_queue_pb2_grpc as pb_grpc
from utils.rpc.server import GrpcService

OK = grpc.StatusCode.OK.value[0]
WAIT_S_MAX = 30.0  # long enough that a wait which is not woken by an arrival runs past every deadline below
ANSWER_WITHIN_S = 10.0


@dataclass
class Queue:
    client: OrderQueueClient
    servicer: OrderQueueServicer
    store: QueueStore


def _order(order_id: str, shipping: str = "standard") -> pb.Order:
    return pb.Order(
        order_id=order_id,
        items=[pb.OrderItem(book_id="book_101_clean_code", title="Clean Code", quantity=1)],
        user_name="Ada",
        shipping_method=shipping,
        card_last4="1111",
    )


@contextmanager
def _serve(tmp_path: Path, limits: BatchLimits) -> Iterator[Queue]:
    store = QueueStore(tmp_path / "q.sqlite3", PriorityPolicy(), depth_max=100, final_records_max=1_000)
    servicer = OrderQueueServicer(store, lease_s_max=60.0, limits=limits)
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
    try:
        yield Queue(client, servicer, store)
    finally:
        client.close()
        service.stop()
        store.close()


@pytest.fixture
def queue(tmp_path: Path) -> Iterator[Queue]:
    with _serve(tmp_path, BatchLimits(lease_batch_max=4, lease_wait_s_max=WAIT_S_MAX, ack_batch_max=8)) as served:
        yield served


def _until(condition: Callable[[], bool], timeout_s: float = ANSWER_WITHIN_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def _code(error: pytest.ExceptionInfo[grpc.RpcError]) -> grpc.StatusCode:
    code: grpc.StatusCode = error.value.code()
    return code


def test_a_batch_lease_fills_free_slots_by_priority_and_each_order_is_executing(queue: Queue) -> None:
    for order_id, shipping in (("std-1", "standard"), ("exp", "express"), ("pri", "priority"), ("std-2", "standard")):
        queue.client.enqueue(_order(order_id, shipping))
    leases = queue.client.lease_batch("leader", 10.0, count_max=3, wait_s=0.0)
    assert [lease.order.order_id for lease in leases] == ["exp", "pri", "std-1"]
    assert all(lease.lease_expires_at > 0 and lease.order.card_last4 == "1111" for lease in leases)
    # The lease is the start: GET /orders/{id} shows EXECUTING with no SetState call.
    assert [queue.client.get_order(o).state for o in ("exp", "pri", "std-1", "std-2")] == [  # type: ignore[union-attr]
        pb.EXECUTING,
        pb.EXECUTING,
        pb.EXECUTING,
        pb.QUEUED,
    ]
    assert queue.client.stats().leased == 3


def test_a_waiting_lease_answers_when_an_order_arrives(queue: Queue) -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        waiting = pool.submit(queue.client.lease_batch, "leader", 10.0, 4, WAIT_S_MAX)
        _until(lambda: queue.servicer.arrivals.waiting() == 1)  # it waits at the queue, not in a client loop
        queue.client.enqueue(_order("late"))
        leases = waiting.result(timeout=ANSWER_WITHIN_S)  # well before WAIT_S_MAX: the arrival woke it
    assert [lease.order.order_id for lease in leases] == ["late"]


def test_an_order_given_back_wakes_a_waiting_lease(queue: Queue) -> None:
    queue.client.enqueue(_order("o1"))
    (held,) = queue.client.lease_batch("leader", 10.0, 4, 0.0)
    with ThreadPoolExecutor(max_workers=1) as pool:
        waiting = pool.submit(queue.client.lease_batch, "leader", 10.0, 4, WAIT_S_MAX)
        _until(lambda: queue.servicer.arrivals.waiting() == 1)
        queue.client.nack("o1", held.lease_id)
        (again,) = waiting.result(timeout=ANSWER_WITHIN_S)
    assert (again.order.order_id, again.lease_id != held.lease_id) == ("o1", True)


def test_a_waiting_lease_whose_caller_left_takes_nothing(queue: Queue) -> None:
    stub = pb_grpc.OrderQueueStub(RoutedChannel(queue.client.address, PEER))
    waiting = stub.LeaseBatch.future(
        pb.LeaseBatchRequest(worker_id="gone", lease_s=10.0, count_max=4, wait_s=WAIT_S_MAX), timeout=WAIT_S_MAX
    )
    _until(lambda: queue.servicer.arrivals.waiting() == 1)
    waiting.cancel()  # the executor stopped: its call is cancelled at the queue
    _until(lambda: queue.servicer.arrivals.waiting() == 0)  # the cancellation wakes the wait, freeing its slot
    queue.client.enqueue(_order("after"))
    assert queue.client.get_order("after").state == pb.QUEUED  # type: ignore[union-attr]
    assert queue.client.stats().leased == 0


def test_an_empty_queue_answers_empty_after_the_wait_and_beyond_the_waiter_bound_at_once(tmp_path: Path) -> None:
    with _serve(tmp_path, BatchLimits(lease_wait_s_max=WAIT_S_MAX, lease_waiters_max=0)) as queue:
        assert queue.client.lease_batch("leader", 10.0, 1, 0.0) == []
        with ThreadPoolExecutor(max_workers=1) as pool:
            full = pool.submit(queue.client.lease_batch, "leader", 10.0, 1, WAIT_S_MAX)
            assert full.result(timeout=ANSWER_WITHIN_S) == []  # no room to wait: it does not hold a thread


def test_a_wait_is_bounded_by_the_callers_deadline(tmp_path: Path) -> None:
    with _serve(tmp_path, BatchLimits(lease_wait_s_max=WAIT_S_MAX)) as queue:
        address = queue.client.address
        short = OrderQueueClient(address, timeout_s=0.0, channel=RoutedChannel(address, PEER))
        # Asked to wait 1 s under a 1 s deadline: the queue answers (empty) in time, never DEADLINE_EXCEEDED.
        assert short.lease_batch("leader", 10.0, 1, 1.0) == []
        short.close()


def test_lease_batch_bounds_answer_invalid_argument(queue: Queue) -> None:
    for count_max, wait_s, lease_s in ((0, 0.0, 10.0), (5, 0.0, 10.0), (1, WAIT_S_MAX + 1, 10.0), (1, 0.0, 61.0)):
        with pytest.raises(grpc.RpcError) as error:
            queue.client.lease_batch("leader", lease_s, count_max, wait_s)
        assert _code(error) == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as error:
        queue.client.lease_batch("", 10.0, 1, 0.0)
    assert _code(error) == grpc.StatusCode.INVALID_ARGUMENT


def test_an_ack_batch_answers_each_ack_with_its_own_result_after_one_commit(queue: Queue) -> None:
    for i in range(3):
        queue.client.enqueue(_order(f"o{i}"))
    o0, o1, o2 = queue.client.lease_batch("leader", 10.0, 3, 0.0)
    commits = queue.store.commits
    results = queue.client.ack_batch(
        [
            pb.AckRequest(order_id="o0", lease_id=o0.lease_id, outcome=pb.COMMITTED, total="34.99"),
            pb.AckRequest(order_id="o1", lease_id="superseded", outcome=pb.COMMITTED),
            pb.AckRequest(order_id="nope", lease_id="L", outcome=pb.COMMITTED),
            pb.AckRequest(order_id="o2", lease_id=o2.lease_id, outcome=pb.EXECUTING),
            pb.AckRequest(order_id="o1", lease_id=o1.lease_id, outcome=pb.ABORTED, reason="declined"),
        ]
    )
    assert queue.store.commits - commits == 1
    assert [(r.code, r.state) for r in results] == [
        (OK, pb.COMMITTED),
        (grpc.StatusCode.FAILED_PRECONDITION.value[0], 0),
        (grpc.StatusCode.NOT_FOUND.value[0], 0),
        (grpc.StatusCode.INVALID_ARGUMENT.value[0], 0),
        (OK, pb.ABORTED),
    ]
    assert all(r.detail for r in results if r.code != OK)
    record = queue.client.get_order("o0")
    assert record is not None and (record.state, record.total) == (pb.COMMITTED, "34.99")
    assert queue.client.get_order("o2").state == pb.EXECUTING  # type: ignore[union-attr]


def test_an_ack_batch_beyond_its_bound_or_empty_is_refused_whole(queue: Queue) -> None:
    for count in (0, 9):
        acks = [pb.AckRequest(order_id=f"o{i}", lease_id="L", outcome=pb.COMMITTED) for i in range(count)]
        with pytest.raises(grpc.RpcError) as error:
            queue.client.ack_batch(acks)
        assert _code(error) == grpc.StatusCode.INVALID_ARGUMENT


def test_acks_that_finish_while_a_call_is_out_share_the_next_call(queue: Queue) -> None:
    count = 6
    for i in range(count):
        queue.client.enqueue(_order(f"o{i}"))
    leases = queue.client.lease_batch("leader", 30.0, 4, 0.0) + queue.client.lease_batch("leader", 30.0, 4, 0.0)
    assert len(leases) == count
    first_call_out = threading.Event()
    release_first = threading.Event()
    sizes: list[int] = []

    def send(acks: Sequence[pb.AckRequest]) -> list[pb.AckResult]:
        sizes.append(len(acks))
        if len(sizes) == 1:  # hold the first call until every other ack waits behind it
            first_call_out.set()
            assert release_first.wait(ANSWER_WITHIN_S)
        return queue.client.ack_batch(acks)

    batcher = AckBatcher(send, batch_max=8)

    def ack(index: int) -> pb.AckResult:
        lease_id = "stale" if index == 3 else leases[index].lease_id
        return batcher.ack(pb.AckRequest(order_id=f"o{index}", lease_id=lease_id, outcome=pb.COMMITTED))

    with ThreadPoolExecutor(max_workers=count) as pool:
        first = pool.submit(ack, 0)
        assert first_call_out.wait(ANSWER_WITHIN_S)
        rest = [pool.submit(ack, i) for i in range(1, count)]
        _until(lambda: batcher.pending() == count - 1)
        release_first.set()
        results = [first.result(ANSWER_WITHIN_S)] + [f.result(ANSWER_WITHIN_S) for f in rest]
    assert sizes == [1, count - 1]  # the five acks that finished together went in one call
    assert [r.code for r in results] == [OK, OK, OK, grpc.StatusCode.FAILED_PRECONDITION.value[0], OK, OK]
    states = [queue.client.get_order(f"o{i}").state for i in range(count)]  # type: ignore[union-attr]
    assert states == [pb.COMMITTED] * 3 + [pb.EXECUTING] + [pb.COMMITTED] * 2


def test_a_failed_call_answers_every_ack_it_carried_with_its_status(tmp_path: Path) -> None:
    down = OrderQueueClient("127.0.0.1:1", timeout_s=0.5, channel=RoutedChannel("127.0.0.1:1", PEER))
    batcher = AckBatcher(down.ack_batch, batch_max=4)
    result = batcher.ack(pb.AckRequest(order_id="o1", lease_id="L", outcome=pb.COMMITTED))
    assert result.code == grpc.StatusCode.UNAVAILABLE.value[0] and result.detail
    down.close()
