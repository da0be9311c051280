"""The validation flow's trace (utils/flow/core/trace.py): bounded per order and in orders, first record wins,
arrows only between recorded events; and the gateway's causal order of them (orchestrator/flow_traces.py)."""

from __future__ import annotations

from orchestrator.flow_traces import FlowTrace, FlowTraces, build_trace, gateway_records
from utils.flow.core.checkout import INIT, START
from utils.flow.core.trace import GATEWAY, OUTCOME, EventRecord, Message, TraceBook, messages
from utils.flow.core.vclock import VectorClock
from utils.flow.trace_wire import records_from_proto, records_to_proto

TV, FD, S = "transaction_verification", "fraud_detection", "suggestions"


def rec(service: str, event: str, at_s: float, passed: bool = True, **clock: int) -> EventRecord:
    reasons = () if passed else ("no",)
    return EventRecord(service, event, VectorClock.of(clock), at_s, passed=passed, reasons=reasons)


def test_the_first_record_of_an_event_wins_and_each_order_is_bounded() -> None:
    book = TraceBook(orders_max=2, records_per_order_max=2)
    book.add("o1", [rec(TV, INIT, 1.0, transaction_verification=1)])
    book.add("o1", [rec(TV, INIT, 9.0, transaction_verification=1)])  # a copy handed back: ignored
    assert [r.at_s for r in book.records("o1")] == [1.0]
    book.add("o1", [rec(TV, "VerifyItems", 2.0, transaction_verification=2), rec(TV, "VerifyUserData", 3.0)])
    assert len(book.records("o1")) == 2 and book.dropped == 1


def test_the_oldest_order_is_pushed_out_when_the_book_is_full() -> None:
    book = TraceBook(orders_max=2)
    for order_id in ("o1", "o2", "o3"):
        book.add(order_id, [rec(TV, INIT, 1.0, transaction_verification=1)])
    assert book.records("o1") == () and len(book.records("o3")) == 1 and len(book) == 2


def approved_records() -> list[EventRecord]:
    return [
        rec(TV, INIT, 1.0, transaction_verification=1),
        rec(FD, INIT, 1.0, fraud_detection=1),
        rec(S, INIT, 1.0, suggestions=1),
        rec(TV, "VerifyItems", 2.0, transaction_verification=2, fraud_detection=1, suggestions=1),
        rec(TV, "VerifyUserData", 2.1, transaction_verification=3, fraud_detection=1, suggestions=1),
        rec(TV, "VerifyCreditCardFormat", 2.2, transaction_verification=4, fraud_detection=1, suggestions=1),
        rec(FD, "CheckUserData", 2.3, transaction_verification=3, fraud_detection=2, suggestions=1),
        rec(FD, "CheckCreditCardData", 2.4, transaction_verification=4, fraud_detection=3, suggestions=1),
        rec(S, "GetSuggestions", 2.5, transaction_verification=4, fraud_detection=3, suggestions=2),
    ]


def test_messages_are_the_hand_offs_between_services_and_the_gateways_calls() -> None:
    records = [
        *gateway_records(0.5, 1.5, VectorClock.of({TV: 1, FD: 1, S: 1}), 3.0, VectorClock.of({TV: 4, FD: 3, S: 2})),
        *approved_records(),
    ]
    arrows = messages(records)
    assert Message(GATEWAY, INIT, FD, INIT) in arrows
    assert (
        Message(GATEWAY, START, TV, "VerifyItems") in arrows and Message(GATEWAY, START, TV, "VerifyUserData") in arrows
    )
    assert Message(TV, "VerifyUserData", FD, "CheckUserData") in arrows  # b → d
    assert Message(TV, "VerifyCreditCardFormat", FD, "CheckCreditCardData") in arrows  # c → e
    assert Message(FD, "CheckCreditCardData", S, "GetSuggestions") in arrows  # e → f
    assert Message(S, "GetSuggestions", GATEWAY, OUTCOME) in arrows  # the report
    assert Message(TV, "VerifyItems", TV, "VerifyCreditCardFormat") not in arrows  # local order is the lane itself


def test_a_rejected_flow_has_no_arrow_past_the_failing_event_and_reports_from_it() -> None:
    records = [
        *gateway_records(0.5, 1.5, VectorClock.of({TV: 1, FD: 1, S: 1}), 3.0, VectorClock.of({TV: 3})),
        *approved_records()[:4],
        rec(TV, "VerifyCreditCardFormat", 2.2, False, transaction_verification=3, fraud_detection=1, suggestions=1),
    ]
    arrows = messages(records)
    assert Message(TV, "VerifyCreditCardFormat", GATEWAY, OUTCOME) in arrows
    assert not any(a.to_service in (FD, S) and a.to_event != INIT for a in arrows)


def test_the_served_events_are_in_an_order_that_respects_happened_before() -> None:
    final = VectorClock.of({TV: 4, FD: 3, S: 2})
    gateway = gateway_records(0.5, 1.5, VectorClock.of({TV: 1, FD: 1, S: 1}), 3.0, final)
    body = build_trace("o1", "approved", gateway, reversed(approved_records())).to_json()
    events = body["events"]
    assert len([e for e in events if e["letter"]]) == 6
    for i, earlier in enumerate(events):
        for later in events[i + 1 :]:
            # No event listed later happened before one listed earlier.
            assert not VectorClock.of(later["clock"]) < VectorClock.of(earlier["clock"]), (earlier, later)
    assert events[-1]["event"] == OUTCOME and [lane["label"] for lane in body["lanes"]] == ["gateway", "TV", "FD", "S"]


def test_records_survive_the_wire_and_a_malformed_one_is_dropped() -> None:
    records = approved_records()
    wire = records_to_proto(records)
    wire[0].service = ""  # malformed: no service
    back, dropped = records_from_proto(wire)
    assert back == tuple(records[1:]) and dropped == 1


def test_the_gateway_keeps_a_bounded_number_of_traces_and_forgets_them_after_their_ttl() -> None:
    now = [0.0]
    traces = FlowTraces(orders_max=2, ttl_s=10, now=lambda: now[0])
    for order_id in ("o1", "o2", "o3"):
        traces.put(FlowTrace(order_id, (), "approved"))
    assert traces.get("o1") is None and traces.get("o3") is not None
    now[0] = 10.0
    assert traces.get("o3") is None and len(traces) == 0
