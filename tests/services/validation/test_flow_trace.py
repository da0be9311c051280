"""The trace each service records of the validation flow reaches the gateway with the report (docs/drawings.md):
real services over gRPC, an approved and a rejected order."""

from __future__ import annotations

from collections.abc import Callable

from tests.services.validation.conftest import SEED_ORDER, ValidationFleet, order_of
from utils.flow.core.checkout import BY_NAME, INIT
from utils.flow.core.vclock import VectorClock

TV, FD, S = "transaction_verification", "fraud_detection", "suggestions"
SIX = (
    "VerifyItems",
    "VerifyUserData",
    "VerifyCreditCardFormat",
    "CheckUserData",
    "CheckCreditCardData",
    "GetSuggestions",
)


def test_an_approved_orders_trace_has_every_event_stamped_after_its_predecessors(
    start_fleet: Callable[..., ValidationFleet],
) -> None:
    fleet = start_fleet()
    assert fleet.flow.validate(order_of("trace-1", SEED_ORDER)).approved
    trace = fleet.flow.flow_trace("trace-1")
    assert trace is not None and trace.status == "approved"
    by_event = {(r.service, r.event): r for r in trace.records}
    assert {(s, INIT) for s in (TV, FD, S)} <= set(by_event)
    stamps = {r.event: r.clock for r in trace.records if r.event in SIX}
    assert set(stamps) == set(SIX)
    for name in SIX:
        for before in BY_NAME[name].predecessors:
            if before in stamps:
                assert stamps[before] < stamps[name], (before, name)
    last = stamps["GetSuggestions"]
    assert last == VectorClock.of({TV: 4, FD: 3, S: 2})
    assert all(r.passed and r.arrived_at_s <= r.ran_at_s <= r.at_s for r in trace.records if r.event in SIX)


def test_a_rejected_orders_trace_stops_at_the_failing_event_with_its_reason(
    start_fleet: Callable[..., ValidationFleet],
) -> None:
    fleet = start_fleet()
    body = {**SEED_ORDER, "creditCard": {**SEED_ORDER["creditCard"], "number": "4111111111111112"}}
    assert not fleet.flow.validate(order_of("trace-2", body)).approved
    trace = fleet.flow.flow_trace("trace-2")
    assert trace is not None and trace.status == "rejected"
    failed = [r for r in trace.records if not r.passed]
    assert [(r.service, r.event) for r in failed] == [(TV, "VerifyCreditCardFormat")]
    assert failed[0].reasons == ("Invalid credit card number: the check digit is wrong",)
    assert not {"CheckCreditCardData", "GetSuggestions"} & {r.event for r in trace.records}
    # Every service's InitOrder is drawn even when the flow never reached it: its InitOrder reply carried it.
    assert {(s, INIT) for s in (TV, FD, S)} <= {(r.service, r.event) for r in trace.records}
