"""ClearOrders, the broadcast in batches (issue 14): each order of a batch judged alone by the clear rule (§3.4),
the servicer's cap refused whole, and the gateway sending one ClearOrders per service for many checkouts."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import grpc
import pytest

from orchestrator.validation_flow import ValidationFlow
from testing.pki import RoutedChannel
from tests.services.validation.conftest import (
    SEED_ORDER,
    Recorder,
    ValidationFleet,
    fake_service,
    free_settings,
    order_of,
    wait_until,
)
from utils.flow.core.clear_batch import CLEAR_BATCH_ORDERS_MAX
from utils.flow.core.vclock import VectorClock
from utils.pb.common import common_pb2
from utils.pb.fraud_detection import fraud_detection_pb2_grpc

TV, FD, S = "transaction_verification", "fraud_detection", "suggestions"


def _item(order_id: str, final: dict[str, int], cid: str = "") -> common_pb2.ClearOrderRequest:
    return common_pb2.ClearOrderRequest(
        order_id=order_id, final_clock=common_pb2.VectorClock(counters=final), correlation_id=cid
    )


def _clear_orders(fleet: ValidationFleet, items: list[common_pb2.ClearOrderRequest]) -> common_pb2.ClearOrdersResponse:
    with RoutedChannel(fleet.settings.fraud_detection_addr, "fraud_detection") as channel:
        stub = fraud_detection_pb2_grpc.FraudDetectionStub(channel)
        reply: common_pb2.ClearOrdersResponse = stub.ClearOrders(common_pb2.ClearOrdersRequest(orders=items), timeout=5)
        return reply


def _batches(recorder: Recorder) -> list[common_pb2.ClearOrdersRequest]:
    return recorder.get("ClearOrders")


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def lines() -> Iterator[_Lines]:
    handler, root = _Lines(), logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_each_order_of_a_batch_is_judged_alone_the_one_ahead_is_a_conflict(
    start_fleet: Callable[..., ValidationFleet],
) -> None:
    fleet = start_fleet()
    finals = {f"b{n}": fleet.flow.validate(order_of(f"b{n}", SEED_ORDER)).final_clock for n in range(3)}
    short = {**finals["b1"], FD: 1}  # misses FD's d and e: FD's own clock for b1 is ahead of it
    reply = _clear_orders(fleet, [_item("b0", finals["b0"]), _item("b1", short), _item("b2", finals["b2"])])
    assert [(r.order_id, r.outcome) for r in reply.results] == [
        ("b0", common_pb2.CLEAR_OUTCOME_CLEARED),
        ("b1", common_pb2.CLEAR_OUTCOME_CONFLICT),
        ("b2", common_pb2.CLEAR_OUTCOME_CLEARED),
    ]
    fd_clock = VectorClock.from_proto(reply.results[1].clock)
    assert fd_clock.as_dict()[FD] == 3 and not fd_clock <= VectorClock.of(short)  # it saw d and e
    # The conflicting order's state was kept; the cleared ones are gone; the true final clock clears b1.
    again = _clear_orders(fleet, [_item("b0", finals["b0"]), _item("b1", finals["b1"])])
    assert [r.outcome for r in again.results] == [
        common_pb2.CLEAR_OUTCOME_UNKNOWN_ORDER,
        common_pb2.CLEAR_OUTCOME_CLEARED,
    ]


def test_a_batch_over_the_cap_or_with_one_bad_item_is_refused_whole_and_changes_nothing(
    start_fleet: Callable[..., ValidationFleet],
) -> None:
    fleet = start_fleet()
    final = fleet.flow.validate(order_of("kept", SEED_ORDER)).final_clock
    too_many = [_item("kept", final)] + [_item(f"x{n}", final) for n in range(CLEAR_BATCH_ORDERS_MAX)]
    with pytest.raises(grpc.RpcError) as refused:
        _clear_orders(fleet, too_many)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as bad:
        _clear_orders(fleet, [_item("kept", final), _item("", final)])
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # "kept" is still there: neither refused batch cleared it.
    assert [r.outcome for r in _clear_orders(fleet, [_item("kept", final)]).results] == [
        common_pb2.CLEAR_OUTCOME_CLEARED
    ]


def test_each_clear_in_a_batch_logs_its_own_checkouts_correlation_id(
    start_fleet: Callable[..., ValidationFleet], lines: _Lines
) -> None:
    from utils.rpc import correlation

    fleet = start_fleet()
    finals = {f"c{n}": fleet.flow.validate(order_of(f"c{n}", SEED_ORDER)).final_clock for n in range(2)}
    seen: dict[str, str] = {}

    class _Cid(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            if record.getMessage() == "order clear":
                seen[vars(record)["order_id"]] = correlation.current_correlation_id()
            return True

    lines.addFilter(_Cid())
    _clear_orders(fleet, [_item("c0", finals["c0"], "cid-zero"), _item("c1", finals["c1"], "cid-one")])
    assert seen == {"c0": "cid-zero", "c1": "cid-one"}


def test_the_gateway_sends_one_clear_orders_per_service_for_many_checkouts() -> None:
    settings = free_settings()
    recorders = {name: Recorder() for name in (TV, FD, S)}
    fakes = [fake_service(name, getattr(settings, f"{name}_addr"), recorders[name]) for name in (TV, FD, S)]
    # A long wait: only a full batch goes early, so the count of calls is exact.
    flow = ValidationFlow(settings, rpc_timeout_s=5.0, clear_batch_orders_max=8, clear_batch_wait_s=30.0)
    flow.start()
    try:
        for n in range(16):
            flow.broadcast_clear(f"o{n}", {TV: 4, FD: 3, S: 2})
        for name in (TV, FD, S):
            recorder = recorders[name]
            wait_until(lambda: len(_batches(recorder)) == 2, what=f"{name}'s two batches")  # noqa: B023 (waited here)
            batches = recorder.get("ClearOrders")
            assert [[o.order_id for o in b.orders] for b in batches] == [
                [f"o{n}" for n in range(8)],
                [f"o{n}" for n in range(8, 16)],
            ]
            assert all(o.final_clock.counters == {TV: 4, FD: 3, S: 2} for b in batches for o in b.orders)
    finally:
        flow.stop()
        for fake in fakes:
            fake.stop()


def test_a_lone_checkouts_clear_goes_after_the_bounded_wait() -> None:
    settings = free_settings()
    recorders = {name: Recorder() for name in (TV, FD, S)}
    fakes = [fake_service(name, getattr(settings, f"{name}_addr"), recorders[name]) for name in (TV, FD, S)]
    flow = ValidationFlow(settings, rpc_timeout_s=5.0, clear_batch_wait_s=0.05)
    flow.start()
    try:
        flow.broadcast_clear("alone", {TV: 4, FD: 3, S: 2})
        for name in (TV, FD, S):
            recorder = recorders[name]
            wait_until(lambda: _batches(recorder), what=f"{name}'s clear")  # noqa: B023 (waited here)
            assert [o.order_id for b in recorder.get("ClearOrders") for o in b.orders] == ["alone"]
    finally:
        flow.stop()
        for fake in fakes:
            fake.stop()
