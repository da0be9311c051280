"""What an event returns, and what the flow reports to the orchestrator, with their proto forms.

An event passes or is rejected with reasons; the last event or the first failure becomes a FlowResult.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from utils.flow.core.trace import EventRecord
from utils.flow.core.vclock import VectorClock
from utils.flow.trace_wire import records_from_proto, records_to_proto
from utils.pb.common import common_pb2
from utils.pb.orchestrator import flow_report_pb2


@dataclass(frozen=True, slots=True)
class Suggestion:
    book_id: str
    title: str
    author: str


@dataclass(frozen=True, slots=True)
class EventResult:
    passed: bool
    reasons: tuple[str, ...] = ()
    suggestions: tuple[Suggestion, ...] = ()

    def __post_init__(self) -> None:
        if not self.passed and not self.reasons:
            raise ValueError("a rejected event must say why")

    @classmethod
    def ok(cls, suggestions: tuple[Suggestion, ...] = ()) -> EventResult:
        return cls(True, (), suggestions)

    @classmethod
    def rejected(cls, *reasons: str) -> EventResult:
        return cls(False, tuple(reasons))


class FlowStatus(Enum):
    APPROVED = flow_report_pb2.FLOW_STATUS_APPROVED
    REJECTED = flow_report_pb2.FLOW_STATUS_REJECTED
    FAILED = flow_report_pb2.FLOW_STATUS_FAILED  # unreachable service or timeout: not the order's fault


@dataclass(frozen=True, slots=True)
class FlowResult:
    order_id: str
    status: FlowStatus
    reasons: tuple[str, ...]
    suggestions: tuple[Suggestion, ...]
    clock: VectorClock
    service: str  # who reports; for FAILED, the service that could not be reached or timed out
    event: str
    trace: tuple[EventRecord, ...] = ()  # every event the reporter knows of, for the order page's drawing

    def to_proto(self) -> flow_report_pb2.FlowOutcome:
        return flow_report_pb2.FlowOutcome(
            order_id=self.order_id,
            status=self.status.value,
            reasons=list(self.reasons),
            suggestions=[
                common_pb2.SuggestedBook(book_id=s.book_id, title=s.title, author=s.author) for s in self.suggestions
            ],
            clock=self.clock.to_proto(),
            service=self.service,
            event=self.event,
            trace=records_to_proto(self.trace),
        )

    @classmethod
    def from_proto(cls, message: flow_report_pb2.FlowOutcome) -> FlowResult:
        """A peer's report; raises ValueError when it is malformed."""
        if message.status == flow_report_pb2.FLOW_STATUS_UNSPECIFIED:
            raise ValueError("a flow outcome needs a status")
        return cls(
            order_id=message.order_id,
            status=FlowStatus(message.status),
            reasons=tuple(message.reasons),
            suggestions=tuple(Suggestion(s.book_id, s.title, s.author) for s in message.suggestions),
            clock=VectorClock.from_proto(message.clock),
            service=message.service,
            event=message.event,
            trace=records_from_proto(message.trace)[0],  # a malformed record costs the drawing, not the verdict
        )
