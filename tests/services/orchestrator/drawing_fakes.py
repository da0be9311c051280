"""Fake sources for the order page's drawings (orchestrator/views/drawings.py): a stored trace, a fixed 2PC timeline."""

from __future__ import annotations

from flask import Flask

from orchestrator.flow_traces import FlowTrace, build_trace, gateway_records
from orchestrator.twopc_timelines import TwoPcTimeline
from orchestrator.views.drawings import DrawingSources, install
from order_executor.core.timeline import Kind, Step, merge
from utils.flow.core.checkout import INIT
from utils.flow.core.trace import EventRecord
from utils.flow.core.vclock import VectorClock

TV = "transaction_verification"


def rejected_trace(order_id: str) -> FlowTrace:
    final = VectorClock.of({TV: 3, "fraud_detection": 1, "suggestions": 1})
    start = VectorClock.of({TV: 1, "fraud_detection": 1, "suggestions": 1})
    records = [
        EventRecord(TV, INIT, VectorClock.of({TV: 1}), 1.0, False, 1.0, 1.0),
        EventRecord(TV, "VerifyItems", VectorClock.of({TV: 2, "fraud_detection": 1, "suggestions": 1}), 1.2),
        EventRecord(TV, "VerifyCreditCardFormat", final, 1.3, True, 1.21, 1.25, False, ("Invalid card",)),
    ]
    return build_trace(order_id, "rejected", gateway_records(0.9, 1.1, start, 1.4, final), records)


class FakeTraces:
    def __init__(self) -> None:
        self.traces: dict[str, FlowTrace] = {}

    def flow_trace(self, order_id: str) -> FlowTrace | None:
        return self.traces.get(order_id)


class FakeTimelines:
    def __init__(self) -> None:
        self.asked: list[str] = []
        self.down = False  # every replica unreachable

    def timeline(self, order_id: str) -> TwoPcTimeline:
        self.asked.append(order_id)
        if self.down:
            return TwoPcTimeline(order_id, (), {"executor-1": "unreachable", "executor-2": "unreachable"}, 0)
        leader = [
            Step(Kind.BEGIN_LOGGED, 1.0, "executor-1", term=2, index=7),
            Step(Kind.PREPARE_SENT, 1.1, "executor-1", term=2, participant="books_database"),
            Step(Kind.VOTE, 1.2, "executor-1", term=2, participant="books_database", detail="not enough stock"),
            Step(Kind.DECISION_LOGGED, 1.3, "executor-1", term=2, index=8, detail="ABORT: not enough stock"),
        ]
        follower = [Step(Kind.DECISION_LOGGED, 1.31, "executor-2", term=2, index=8, detail="ABORT: not enough stock")]
        replicas = {"executor-1": "answered", "executor-2": "answered", "executor-3": "unreachable"}
        return TwoPcTimeline(order_id, tuple(merge([leader, follower])), replicas, 0)


def install_fakes(app: Flask) -> tuple[FakeTraces, FakeTimelines]:
    traces, timelines = FakeTraces(), FakeTimelines()
    traces.traces["o-rejected"] = rejected_trace("o-rejected")
    install(app, DrawingSources(traces=traces, timelines=timelines))
    return traces, timelines
