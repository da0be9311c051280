"""Each validation service alone over real gRPC, its neighbours replaced by recording fakes.

Shows the services enforce the flow's order themselves: an event that arrives early waits for its
predecessors (causal delivery), and gives up at the flow's deadline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest

from testing.pki import RoutedChannel
from tests.services.validation.conftest import (
    REAL,
    SEED_ORDER,
    Recorder,
    fake_service,
    free_settings,
    order_of,
    wait_until,
)
from utils.order.wire import order_to_proto
from utils.pb.common import common_pb2
from utils.pb.fraud_detection import fraud_detection_pb2_grpc
from utils.pb.orchestrator import flow_report_pb2
from utils.pb.suggestions import suggestions_pb2_grpc
from utils.pb.transaction_verification import transaction_verification_pb2_grpc
from utils.rpc.server import GrpcService
from utils.settings import FleetSettings

TV, FD, S = "transaction_verification", "fraud_detection", "suggestions"
ORDER = order_to_proto(order_of("", SEED_ORDER))


def clock(**counters: int) -> common_pb2.VectorClock:
    return common_pb2.VectorClock(counters=counters)


class Harness:
    """One real service; every other one (and the orchestrator's FlowReport) a recording fake."""

    def __init__(self, real: str) -> None:
        self.settings: FleetSettings = free_settings()
        self.recorder = Recorder()
        self.services: list[GrpcService] = []
        for name in (TV, FD, S, "orchestrator"):
            if name != real:
                address = getattr(self.settings, "orchestrator_flow_addr" if name == "orchestrator" else f"{name}_addr")
                self.services.append(fake_service(name, address, self.recorder))
        service = REAL[real](self.settings)
        service.start()
        self.services.append(service)
        self.channel = RoutedChannel(getattr(self.settings, f"{real}_addr"), real)

    def stub(self, stub_class: Any) -> Any:
        return stub_class(self.channel)

    def reports(self) -> list[flow_report_pb2.FlowOutcome]:
        return self.recorder.get("Report")

    def close(self) -> None:
        self.channel.close()
        for service in reversed(self.services):
            service.stop()


@pytest.fixture
def harness() -> Iterator[Any]:
    opened: list[Harness] = []

    def open_harness(real: str) -> Harness:
        opened.append(Harness(real))
        return opened[-1]

    yield open_harness
    for h in opened:
        h.close()


def test_fraud_detection_holds_e_until_d_has_happened(harness: Any) -> None:
    h = harness(FD)
    stub = h.stub(fraud_detection_pb2_grpc.FraudDetectionStub)
    init = stub.InitOrder(common_pb2.InitOrderRequest(order_id="o1", order=ORDER, budget_ms=5000), timeout=2)
    assert dict(init.clock.counters) == {FD: 1}
    start = {TV: 1, FD: 1, S: 1}
    # c's message (e's input) arrives before b's: e must wait, since its predecessor d has not happened.
    ack = stub.CheckCreditCardData(
        common_pb2.EventRequest(order_id="o1", clock=clock(**{**start, TV: 4}), budget_ms=5000), timeout=2
    )
    assert ack.delivery == common_pb2.DELIVERY_HELD
    assert h.recorder.get("GetSuggestions") == []
    ack = stub.CheckUserData(
        common_pb2.EventRequest(order_id="o1", clock=clock(**{**start, TV: 3}), budget_ms=5000), timeout=2
    )
    assert ack.delivery == common_pb2.DELIVERY_RUN
    handed_on = wait_until(lambda: h.recorder.get("GetSuggestions"), what="e to run and hand on to suggestions")
    assert len(handed_on) == 1
    # e ran after d (FD: init 1, d 2, e 3), and after c (TV 4): its stamp is after both predecessors'.
    assert dict(handed_on[0].clock.counters) == {TV: 4, FD: 3, S: 1}
    assert 0 < handed_on[0].budget_ms <= 5000


def test_in_order_d_then_c_runs_e_when_c_arrives(harness: Any) -> None:
    h = harness(FD)
    stub = h.stub(fraud_detection_pb2_grpc.FraudDetectionStub)
    stub.InitOrder(common_pb2.InitOrderRequest(order_id="o9", order=ORDER, budget_ms=5000), timeout=2)
    ack = stub.CheckUserData(
        common_pb2.EventRequest(order_id="o9", clock=clock(transaction_verification=3), budget_ms=5000), timeout=2
    )
    assert ack.delivery == common_pb2.DELIVERY_RUN
    # After d, FD offers e itself; it waits for c. c's message then releases it: for the sender, it runs.
    ack = stub.CheckCreditCardData(
        common_pb2.EventRequest(order_id="o9", clock=clock(transaction_verification=4), budget_ms=5000), timeout=2
    )
    assert ack.delivery in (common_pb2.DELIVERY_RUN,)
    handed_on = wait_until(lambda: h.recorder.get("GetSuggestions"), what="e handed on to suggestions")
    assert [dict(m.clock.counters) for m in handed_on] == [{TV: 4, FD: 3}]


def test_an_event_whose_predecessor_never_comes_fails_the_flow_at_its_deadline(harness: Any) -> None:
    h = harness(FD)
    stub = h.stub(fraud_detection_pb2_grpc.FraudDetectionStub)
    stub.InitOrder(common_pb2.InitOrderRequest(order_id="o2", order=ORDER, budget_ms=300), timeout=2)
    ack = stub.CheckCreditCardData(
        common_pb2.EventRequest(order_id="o2", clock=clock(transaction_verification=4), budget_ms=300), timeout=2
    )
    assert ack.delivery == common_pb2.DELIVERY_HELD
    report = wait_until(h.reports, what="the timeout report")[0]
    assert report.status == flow_report_pb2.FLOW_STATUS_FAILED and report.service == FD
    assert list(report.reasons) == ["CheckCreditCardData timed out waiting for CheckUserData"]
    # The flow has stopped for this order: a late d is not run.
    late = stub.CheckUserData(
        common_pb2.EventRequest(order_id="o2", clock=clock(transaction_verification=3), budget_ms=300), timeout=2
    )
    assert late.delivery == common_pb2.DELIVERY_STOPPED


def test_an_event_before_init_waits_for_the_order(harness: Any) -> None:
    h = harness(S)
    stub = h.stub(suggestions_pb2_grpc.SuggestionsStub)
    ack = stub.GetSuggestions(
        common_pb2.EventRequest(order_id="o3", clock=clock(fraud_detection=3), budget_ms=5000), timeout=2
    )
    assert ack.delivery == common_pb2.DELIVERY_HELD
    stub.InitOrder(common_pb2.InitOrderRequest(order_id="o3", order=ORDER, budget_ms=5000), timeout=2)
    report = wait_until(h.reports, what="the approval")[0]
    assert report.status == flow_report_pb2.FLOW_STATUS_APPROVED and report.event == "GetSuggestions"
    assert [s.title for s in report.suggestions] == ["Clean Code", "The Clean Coder", "Design Patterns"]
    assert dict(report.clock.counters) == {FD: 3, S: 2}


def test_transaction_verification_runs_c_after_a_and_hands_on_to_fraud_detection(harness: Any) -> None:
    h = harness(TV)
    stub = h.stub(transaction_verification_pb2_grpc.TransactionVerificationStub)
    stub.InitOrder(common_pb2.InitOrderRequest(order_id="o4", order=ORDER, budget_ms=5000), timeout=2)
    start = common_pb2.EventRequest(order_id="o4", clock=clock(transaction_verification=1), budget_ms=5000)
    assert stub.VerifyItems(start, timeout=2).delivery == common_pb2.DELIVERY_RUN
    assert stub.VerifyItems(start, timeout=2).delivery == common_pb2.DELIVERY_DUPLICATE
    assert stub.VerifyUserData(start, timeout=2).delivery == common_pb2.DELIVERY_RUN
    d_message = wait_until(lambda: h.recorder.get("CheckUserData"), what="b handed on as d")[0]
    e_message = wait_until(lambda: h.recorder.get("CheckCreditCardData"), what="c handed on as e")[0]
    c_stamp, b_stamp = dict(e_message.clock.counters), dict(d_message.clock.counters)
    assert c_stamp[TV] >= 3 and b_stamp[TV] >= 2 and c_stamp[TV] != b_stamp[TV]


def test_a_rejection_is_reported_with_its_reason_and_not_handed_on(harness: Any) -> None:
    h = harness(TV)
    stub = h.stub(transaction_verification_pb2_grpc.TransactionVerificationStub)
    bad = order_to_proto(order_of("", {**SEED_ORDER, "termsAndConditionsAccepted": False}))
    stub.InitOrder(common_pb2.InitOrderRequest(order_id="o5", order=bad, budget_ms=5000), timeout=2)
    stub.VerifyUserData(common_pb2.EventRequest(order_id="o5", budget_ms=5000), timeout=2)
    report = wait_until(h.reports, what="the rejection")[0]
    assert report.status == flow_report_pb2.FLOW_STATUS_REJECTED and report.event == "VerifyUserData"
    assert list(report.reasons) == ["Terms and conditions must be accepted"]
    assert dict(report.clock.counters) == {TV: 2}
    assert h.recorder.get("CheckUserData") == []
    after = stub.VerifyItems(common_pb2.EventRequest(order_id="o5", budget_ms=5000), timeout=2)
    assert after.delivery == common_pb2.DELIVERY_STOPPED


def test_a_next_service_that_is_down_fails_the_flow_naming_it(harness: Any) -> None:
    h2 = harness(FD)
    for service in h2.services:
        if service.name == "fake-suggestions":
            service.stop()
    stub = h2.stub(fraud_detection_pb2_grpc.FraudDetectionStub)
    stub.InitOrder(common_pb2.InitOrderRequest(order_id="o6", order=ORDER, budget_ms=3000), timeout=2)
    stub.CheckUserData(
        common_pb2.EventRequest(order_id="o6", clock=clock(transaction_verification=3), budget_ms=3000), timeout=2
    )
    stub.CheckCreditCardData(
        common_pb2.EventRequest(order_id="o6", clock=clock(transaction_verification=4), budget_ms=3000), timeout=2
    )
    report = wait_until(h2.reports, what="the failure report")[0]
    assert report.status == flow_report_pb2.FLOW_STATUS_FAILED and report.service == S


def test_malformed_requests_are_invalid_arguments(harness: Any) -> None:
    h = harness(FD)
    stub = h.stub(fraud_detection_pb2_grpc.FraudDetectionStub)
    bad = [
        lambda: stub.InitOrder(common_pb2.InitOrderRequest(order_id="", order=ORDER), timeout=2),
        lambda: stub.CheckUserData(
            common_pb2.EventRequest(order_id="o7", clock=clock(transaction_verification=-1)), timeout=2
        ),
        lambda: stub.CheckUserData(common_pb2.EventRequest(order_id="o7", budget_ms=-5), timeout=2),
    ]
    attempt: Callable[[], object]
    for attempt in bad:
        with pytest.raises(grpc.RpcError) as failure:
            attempt()
        assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    stub.InitOrder(common_pb2.InitOrderRequest(order_id="o8", order=ORDER), timeout=2)
    other = order_to_proto(order_of("", {**SEED_ORDER, "items": [{"name": "Clean Code", "quantity": 2}]}))
    with pytest.raises(grpc.RpcError) as failure:
        stub.InitOrder(common_pb2.InitOrderRequest(order_id="o8", order=other), timeout=2)
    assert failure.value.code() == grpc.StatusCode.ALREADY_EXISTS
