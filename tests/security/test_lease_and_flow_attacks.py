"""Attacks where an accepted call would visibly change state: the queue's lease RPCs against a queued order and
then its live lease (no executor runs, so only the test leases), and the validation services' RPCs against an
order they hold. Each refused attempt is followed by the legitimate call that does work, proving it mattered.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

import grpc
import pytest
from google.protobuf.message import Message

from testing.fleet_env import FLEET_ENV
from testing.local_fleet import RunningFleet, running_fleet
from testing.orders import queue_order
from tests.e2e.execution import book
from tests.security.attack_kit import STRANGER, Attack, unexpected_codes
from utils.pb.common import common_pb2
from utils.pb.order_queue import order_queue_pb2 as queue_pb
from utils.pb.order_queue import order_queue_pb2_grpc as queue_grpc
from utils.rpc.client import open_channel
from utils.tls import FleetTls
from utils.tls.fleet import ensure_fleet_pki

pytestmark = [pytest.mark.fleet, pytest.mark.timeout(180)]
QUEUE = "/bookstore.order_queue.OrderQueue/"
FLOW_SERVICES = {
    "transaction_verification": "bookstore.transaction_verification.TransactionVerification",
    "fraud_detection": "bookstore.fraud_detection.FraudDetection",
    "suggestions": "bookstore.suggestions.Suggestions",
}
# The events each validation service is sent (utils/flow/core/checkout.py), and who may send them.
FLOW_EVENTS = {
    "transaction_verification": ("VerifyItems", "VerifyUserData"),
    "fraud_detection": ("CheckUserData", "CheckCreditCardData"),
    "suggestions": ("GetSuggestions",),
}
HELD, NEVER_INITIALISED = "held-order", "init-attack"
Reply = TypeVar("Reply", bound=Message)
NO_EXECUTORS = frozenset({"order_queue", *FLOW_SERVICES})


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningFleet]:
    # No executor: a queued order stays QUEUED until the test leases it, so a stolen lease would show.
    with running_fleet(tmp_path_factory.mktemp("lease-attacks"), only=NO_EXECUTORS, extra_env=FLEET_ENV) as rf:
        ensure_fleet_pki(rf.fleet.data_dir, [STRANGER])
        yield rf


def queue_as(rf: RunningFleet, identity: str) -> queue_grpc.OrderQueueStub:
    tls = FleetTls(rf.tls().tls_dir, identity)
    return queue_grpc.OrderQueueStub(open_channel(rf.settings.order_queue_addr, "order_queue", tls=tls))


def lease_attacks(worker: str) -> list[Attack]:
    """Taking a queued order: neither the gateway, the operator nor a books replica may lease."""
    wrong = ("orchestrator", "operator", "books-1")
    return [
        Attack(
            "order_queue",
            f"{QUEUE}LeaseBatch",
            queue_pb.LeaseBatchRequest(worker_id=worker, lease_s=30, count_max=4, wait_s=0),
            wrong,
        ),
    ]


def leased_attacks(order_id: str, lease_id: str) -> list[Attack]:
    """Finishing or giving back an order under its real lease id, as anyone but an executor."""
    wrong = ("orchestrator", "operator", "payment_service")
    commit = queue_pb.AckRequest(order_id=order_id, lease_id=lease_id, outcome=queue_pb.COMMITTED, total="1.00")
    return [
        Attack("order_queue", f"{QUEUE}AckBatch", queue_pb.AckBatchRequest(acks=[commit]), wrong),
        Attack("order_queue", f"{QUEUE}Nack", queue_pb.NackRequest(order_id=order_id, lease_id=lease_id), wrong),
        Attack(
            "order_queue",
            f"{QUEUE}SetState",
            queue_pb.SetStateRequest(order_id=order_id, state=queue_pb.ABORTED, reason="forged"),
            wrong,
        ),
    ]


def test_lease_rpcs_from_wrong_identities_take_no_order_and_change_no_lease(fleet: RunningFleet) -> None:
    order_id = "lease-attack"
    book_id = book(7)[0]
    queue_as(fleet, "orchestrator").Enqueue(
        queue_pb.EnqueueRequest(order=queue_order(order_id, [(book_id, 1)], "tok", "1111")), timeout=5
    )
    reader = queue_as(fleet, "orchestrator")  # the gateway is the queue's only reader
    queued = reader.GetOrder(queue_pb.GetOrderRequest(order_id=order_id), timeout=5)
    assert (queued.state, queued.attempts) == (queue_pb.QUEUED, 0)

    assert unexpected_codes(fleet, lease_attacks("thief")) == {}
    after = reader.GetOrder(queue_pb.GetOrderRequest(order_id=order_id), timeout=5)
    assert (after.state, after.attempts) == (queue_pb.QUEUED, 0)  # nobody leased it
    assert reader.Stats(queue_pb.StatsRequest(), timeout=5).leased == 0

    # The same request from an executor does lease it, EXECUTING from its lease: the attack was a real one.
    executor = queue_as(fleet, "executor-1")
    leases = executor.LeaseBatch(
        queue_pb.LeaseBatchRequest(worker_id="executor-1", lease_s=30, count_max=4, wait_s=0), timeout=5
    ).leases
    assert [lease.order.order_id for lease in leases] == [order_id]
    lease_id = leases[0].lease_id
    executing = reader.GetOrder(queue_pb.GetOrderRequest(order_id=order_id), timeout=5)
    assert (executing.state, executing.attempts) == (queue_pb.EXECUTING, 1)

    assert unexpected_codes(fleet, leased_attacks(order_id, lease_id)) == {}
    still = reader.GetOrder(queue_pb.GetOrderRequest(order_id=order_id), timeout=5)
    assert (still.state, still.attempts, still.reason) == (queue_pb.EXECUTING, 1, "")  # not acked, given back, aborted

    # The lease is intact and still the executor's: its AckBatch under that lease id records the outcome.
    commit = queue_pb.AckRequest(order_id=order_id, lease_id=lease_id, outcome=queue_pb.COMMITTED, total="1.00")
    results = executor.AckBatch(queue_pb.AckBatchRequest(acks=[commit]), timeout=5)
    assert [(r.code, r.state) for r in results.results] == [(0, queue_pb.COMMITTED)]


def init_request(order_id: str) -> common_pb2.InitOrderRequest:
    order = common_pb2.OrderData(
        items=[common_pb2.OrderItem(book_id="b1", quantity=1)],
        user=common_pb2.User(name="Ada", contact="ada@example.com"),
        shipping_method="standard",
        terms_accepted=True,
    )
    return common_pb2.InitOrderRequest(order_id=order_id, order=order, budget_ms=60_000)


def flow_attacks(target: str, clock: common_pb2.VectorClock) -> list[Attack]:
    """Clearing a held order (in a batch), starting another, and sending its events, as callers the
    table refuses: an executor, the operator, and a fellow validation service that is not the event's sender."""
    service = f"/{FLOW_SERVICES[target]}/"
    fellow = "suggestions" if target != "suggestions" else "transaction_verification"
    wrong = ("executor-1", "operator", fellow)
    clear = common_pb2.ClearOrderRequest(order_id=HELD, final_clock=clock)
    event = common_pb2.EventRequest(order_id=HELD, clock=clock, budget_ms=60_000)
    return [
        Attack(target, f"{service}ClearOrders", common_pb2.ClearOrdersRequest(orders=[clear]), wrong),
        Attack(target, f"{service}InitOrder", init_request(NEVER_INITIALISED), wrong),
        *(Attack(target, f"{service}{name}", event, wrong) for name in FLOW_EVENTS[target]),
    ]


@pytest.mark.parametrize("target", sorted(FLOW_SERVICES))
def test_flow_rpcs_from_wrong_identities_clear_nothing_and_start_nothing(fleet: RunningFleet, target: str) -> None:
    tls_dir, address = fleet.tls().tls_dir, str(getattr(fleet.settings, f"{target}_addr"))
    service = f"/{FLOW_SERVICES[target]}/"
    raw = {"request_serializer": lambda m: m.SerializeToString()}

    def call(identity: str, method: str, request: Message, reply: type[Reply]) -> Reply:
        with open_channel(address, target, retries=False, tls=FleetTls(tls_dir, identity)) as channel:
            rpc = channel.unary_unary(f"{service}{method}", response_deserializer=reply.FromString, **raw)
            answer: Reply = rpc(request, timeout=5)
            return answer

    init = call("orchestrator", "InitOrder", init_request(HELD), common_pb2.InitOrderResponse)

    assert unexpected_codes(fleet, flow_attacks(target, init.clock)) == {}

    # The orchestrator's clear, at the clock InitOrder gave: the held order is still there and no event moved its
    # clock (CLEARED, not CONFLICT); the order the attacks tried to start was never started.
    clears = common_pb2.ClearOrdersRequest(
        orders=[
            common_pb2.ClearOrderRequest(order_id=HELD, final_clock=init.clock),
            common_pb2.ClearOrderRequest(order_id=NEVER_INITIALISED, final_clock=init.clock),
        ]
    )
    answer = call("orchestrator", "ClearOrders", clears, common_pb2.ClearOrdersResponse)
    assert [(r.order_id, r.outcome) for r in answer.results] == [
        (HELD, common_pb2.CLEAR_OUTCOME_CLEARED),
        (NEVER_INITIALISED, common_pb2.CLEAR_OUTCOME_UNKNOWN_ORDER),
    ]


def test_a_refused_caller_stays_refused_after_the_allowed_caller_of_the_same_method(fleet: RunningFleet) -> None:
    """The verdicts kept per method and identity (utils/rpc/authz.py), on a real server: the orchestrator's
    allowed call does not open LeaseBatch to it, and the executor's allowed LeaseBatch opens no other method."""
    lease_batch = queue_pb.LeaseBatchRequest(worker_id="w", lease_s=30, count_max=1, wait_s=0)
    executor, orchestrator = queue_as(fleet, "executor-1"), queue_as(fleet, "orchestrator")
    for _ in range(3):
        executor.LeaseBatch(lease_batch, timeout=5)
        orchestrator.Stats(queue_pb.StatsRequest(), timeout=5)
        with pytest.raises(grpc.RpcError) as refused:
            orchestrator.LeaseBatch(lease_batch, timeout=5)
        assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.RpcError) as refused:
            executor.Enqueue(queue_pb.EnqueueRequest(order=queue_order("x", [(book(7)[0], 1)], "t", "1111")), timeout=5)
        assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
