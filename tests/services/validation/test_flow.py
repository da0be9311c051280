"""The whole validation flow across the three real services and the orchestrator's flow client (docs/design.md §3).

In-process servers on free ports, real gRPC between them: approved, rejected, cleared, down, timed out.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence

import pytest

from orchestrator.checkout import SuggestedBook
from orchestrator.checkout_errors import DependencyUnavailable
from orchestrator.validation_flow import ValidationFlow
from suggestions.core.recommender import CatalogRecommender
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
from utils.catalog import Book
from utils.catalog.file import load_catalog
from utils.pb.common import common_pb2
from utils.pb.fraud_detection import fraud_detection_pb2_grpc
from utils.rpc import correlation
from utils.rpc.client import open_channel

TV, FD, S = "transaction_verification", "fraud_detection", "suggestions"


def with_card(number: str) -> dict[str, object]:
    return {**SEED_ORDER, "creditCard": {**SEED_ORDER["creditCard"], "number": number}}


def test_the_seed_example_is_approved_with_three_suggestions_and_a_full_clock(
    start_fleet: Callable[..., ValidationFleet],
) -> None:
    fleet = start_fleet()
    outcome = fleet.flow.validate(order_of("order-1", SEED_ORDER))
    assert outcome.approved and outcome.reasons == ()
    assert outcome.suggestions == (
        SuggestedBook("book_101_clean_code", "Clean Code", "Robert C. Martin"),
        SuggestedBook("book_107_clean_coder", "The Clean Coder", "Robert C. Martin"),
        SuggestedBook("book_103_design_patterns", "Design Patterns", "Gamma, Helm, Johnson & Vlissides"),
    )
    catalog_ids = {b.id for b in load_catalog().books}
    assert {s.book_id for s in outcome.suggestions} <= catalog_ids
    # TV: init, a, b, c; FD: init, d, e; S: init, f — the final stamp has seen every event.
    assert outcome.final_clock == {TV: 4, FD: 3, S: 2}


def test_a_wrong_luhn_digit_is_rejected_with_its_reason(start_fleet: Callable[..., ValidationFleet]) -> None:
    fleet = start_fleet()
    outcome = fleet.flow.validate(order_of("order-2", with_card("4111111111111112")))
    assert not outcome.approved
    assert outcome.reasons == ("Invalid credit card number: the check digit is wrong",)
    assert outcome.suggestions == ()
    assert outcome.final_clock[TV] >= 3  # init, a, c at least


def test_fraud_rules_reject_after_verification_passes(start_fleet: Callable[..., ValidationFleet]) -> None:
    fleet = start_fleet()
    body = {**SEED_ORDER, "user": {"name": "Mallory", "contact": "m@mailinator.com"}}
    outcome = fleet.flow.validate(order_of("order-3", body))
    assert not outcome.approved
    assert outcome.reasons == ("Fraud check failed: disposable e-mail addresses are not accepted",)
    assert outcome.final_clock[FD] == 2  # init, d


def test_several_checkouts_at_once_each_get_their_own_outcome(start_fleet: Callable[..., ValidationFleet]) -> None:
    fleet = start_fleet()
    results: dict[str, object] = {}

    def run(i: int) -> None:
        body = SEED_ORDER if i % 2 == 0 else with_card("4111111111111112")
        try:
            results[f"o{i}"] = fleet.flow.validate(order_of(f"o{i}", body)).approved
        except Exception as error:  # noqa: BLE001 - shown in the assertion below
            results[f"o{i}"] = repr(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == {f"o{i}": i % 2 == 0 for i in range(8)}


def _clear(fleet: ValidationFleet, order_id: str, final: dict[str, int]) -> int:
    with RoutedChannel(fleet.settings.fraud_detection_addr, "fraud_detection") as channel:
        stub = fraud_detection_pb2_grpc.FraudDetectionStub(channel)
        request = common_pb2.ClearOrderRequest(order_id=order_id, final_clock=common_pb2.VectorClock(counters=final))
        # As the orchestrator clears: in a batch (ClearOrders), here of one.
        return int(stub.ClearOrders(common_pb2.ClearOrdersRequest(orders=[request]), timeout=2).results[0].outcome)


class _Capture(logging.Handler):
    """Keeps each record with the correlation id current when it was logged."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[tuple[logging.LogRecord, str]] = []
        self.guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self.guard:
            self.lines.append((record, correlation.current_correlation_id()))

    def matching(self, message: str) -> Sequence[tuple[logging.LogRecord, str]]:
        with self.guard:
            return [(r, cid) for r, cid in self.lines if r.getMessage() == message]


@pytest.fixture
def capture() -> Iterator[_Capture]:
    handler = _Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_broadcast_clear_clears_every_service_and_a_short_final_clock_is_a_conflict(
    start_fleet: Callable[..., ValidationFleet], capture: _Capture
) -> None:
    fleet = start_fleet()
    outcome = fleet.flow.validate(order_of("order-4", SEED_ORDER))
    fleet.flow.broadcast_clear("order-4", outcome.final_clock)
    wait_until(lambda: len(capture.matching("order clear")) == 3, what="three clears")
    assert {vars(r)["outcome"] for r, _ in capture.matching("order clear")} == {"cleared"}
    assert _clear(fleet, "order-4", outcome.final_clock) == common_pb2.CLEAR_OUTCOME_UNKNOWN_ORDER

    outcome = fleet.flow.validate(order_of("order-5", SEED_ORDER))
    short = {**outcome.final_clock, FD: 1}  # misses FD's d and e (which S's clock has seen too)
    fleet.flow.broadcast_clear("order-5", short)
    conflicts = wait_until(
        lambda: len(capture.matching("clear conflict")) >= 2 and capture.matching("clear conflict"),
        what="the conflicts reported",
    )
    assert sorted(r.service for r, _ in conflicts) == [FD, S]
    wait_until(
        lambda: [r for r, _ in capture.matching("order clear") if vars(r)["order_id"] == "order-5"],
        what="TV's clear",
    )
    # FD kept its state: it clears with the true final clock.
    assert _clear(fleet, "order-5", outcome.final_clock) == common_pb2.CLEAR_OUTCOME_CLEARED


def test_the_checkouts_correlation_id_is_in_every_services_log(
    start_fleet: Callable[..., ValidationFleet], capture: _Capture
) -> None:
    fleet = start_fleet()
    token = correlation.set_correlation_id("checkout-cid-42")
    try:
        assert fleet.flow.validate(order_of("order-6", SEED_ORDER)).approved
    finally:
        correlation.reset_correlation_id(token)

    def served() -> dict[str, str]:
        return {vars(r)["method"].split("/")[-1]: cid for r, cid in capture.matching("rpc")}

    # The Report call's own log line is written just after the waiting checkout wakes up.
    wait_until(lambda: "Report" in served(), what="the Report call's log line")
    for method in (
        "InitOrder",
        "VerifyItems",
        "VerifyUserData",
        "CheckUserData",
        "CheckCreditCardData",
        "GetSuggestions",
        "Report",
    ):
        assert served().get(method) == "checkout-cid-42", method
    events = capture.matching("event run")
    assert len(events) == 6 and {cid for _, cid in events} == {"checkout-cid-42"}


def test_a_service_that_is_down_makes_the_dependency_unavailable(start_fleet: Callable[..., ValidationFleet]) -> None:
    fleet = start_fleet()
    assert fleet.flow.readiness() == {TV: True, FD: True, S: True}
    fleet.stop_service(FD)
    with pytest.raises(DependencyUnavailable) as failure:
        fleet.flow.validate(order_of("order-7", SEED_ORDER))
    assert failure.value.service == FD
    assert fleet.flow.readiness() == {TV: True, FD: False, S: True}


class _StuckRecommender(CatalogRecommender):
    def __init__(self, release: threading.Event) -> None:
        super().__init__(load_catalog())
        self.release = release

    def recommend(self, cart: Sequence[Book], count: int = 3) -> tuple[Book, ...]:
        self.release.wait(30)
        return super().recommend(cart, count)


def test_a_flow_that_does_not_finish_in_time_is_unavailable(start_fleet: Callable[..., ValidationFleet]) -> None:
    release = threading.Event()
    fleet = start_fleet(flow_timeout_s=2.0, suggestions={"recommender": _StuckRecommender(release)})
    try:
        with pytest.raises(DependencyUnavailable) as failure:
            fleet.flow.validate(order_of("order-8", SEED_ORDER))
        assert failure.value.service == "validation_flow"
    finally:
        release.set()


def test_the_flow_client_sends_each_service_only_what_it_needs() -> None:
    settings = free_settings()
    recorders = {name: Recorder() for name in (TV, FD, S)}
    fakes = [fake_service(name, getattr(settings, f"{name}_addr"), recorders[name]) for name in (TV, FD, S)]
    flow = ValidationFlow(settings, flow_timeout_s=2.0, rpc_timeout_s=2.0)
    flow.start()
    try:
        with pytest.raises(DependencyUnavailable):
            flow.validate(order_of("order-9", SEED_ORDER))  # the fakes never report
        tv_order = recorders[TV].get("InitOrder")[0].order
        fd_order = recorders[FD].get("InitOrder")[0].order
        s_order = recorders[S].get("InitOrder")[0].order
        assert tv_order.credit_card.cvv == "123" and tv_order.credit_card.number == "4111111111111111"
        assert fd_order.credit_card.cvv == "" and fd_order.credit_card.number == "4111111111111111"
        assert s_order.credit_card == common_pb2.CreditCard() and s_order.user == common_pb2.User()
        assert s_order.billing_address == common_pb2.Address() and len(s_order.items) == 1
        assert {len(recorders[TV].get(m)) for m in ("VerifyItems", "VerifyUserData")} == {1}
    finally:
        flow.stop()
        for fake in fakes:
            fake.stop()


def test_open_channel_is_lazy_so_the_client_builds_before_the_services_start() -> None:
    # ValidationFlow opens its channels in __init__: that must not need the services up.
    channel = open_channel("127.0.0.1:1", "transaction_verification")
    channel.close()


def test_no_log_line_holds_a_card_number(start_fleet: Callable[..., ValidationFleet], capture: _Capture) -> None:
    from utils.logs import JsonLineFormatter

    fleet = start_fleet()
    fleet.flow.validate(order_of("order-10", SEED_ORDER))
    fleet.flow.validate(order_of("order-11", {**SEED_ORDER, "user": {"name": "M", "contact": "m@mailinator.com"}}))
    formatter = JsonLineFormatter("test")
    with capture.guard:
        lines = [formatter.format(record) for record, _ in capture.lines]
    assert any("fraud rule hit" in line and '"card_last4": "1111"' in line for line in lines)
    assert not [line for line in lines if "4111111111111111" in line or "411111111111" in line]
