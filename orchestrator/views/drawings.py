"""GET /orders/{orderId}/trace and /orders/{orderId}/twopc: what the order page draws (docs/drawings.md).

The trace is the validation flow's event records, kept by the gateway; the 2PC timeline is fetched from the
executor replicas on each call. Their sources are installed on the app by main() (tests install fakes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from flask import Blueprint, Flask, current_app

from orchestrator.flow_traces import FlowTrace
from orchestrator.problems import Problem
from orchestrator.twopc_timelines import TimelineSource, TwoPcTimeline

blueprint = Blueprint("drawings", __name__)
EXTENSION = "bookstore.drawings"
ORDER_ID_CHARS_MAX = 128


class TraceSource(Protocol):
    def flow_trace(self, order_id: str) -> FlowTrace | None: ...


@dataclass(frozen=True, slots=True)
class DrawingSources:
    traces: TraceSource | None = None
    timelines: TimelineSource | None = None


def install(app: Flask, sources: DrawingSources) -> None:
    app.extensions[EXTENSION] = sources


def _sources() -> DrawingSources:
    found = current_app.extensions.get(EXTENSION)
    return found if isinstance(found, DrawingSources) else DrawingSources()


def _checked(order_id: str) -> str:
    if len(order_id) > ORDER_ID_CHARS_MAX:
        raise Problem(404, "ORDER_NOT_FOUND", "Not Found", f"no order with id {order_id[:16] + '…'!r}")
    return order_id


@blueprint.get("/orders/<order_id>/trace")
def get_trace(order_id: str) -> dict[str, Any]:
    traces = _sources().traces
    trace = traces.flow_trace(_checked(order_id)) if traces is not None else None
    if trace is None:
        raise Problem(
            404,
            "TRACE_NOT_FOUND",
            "Not Found",
            f"no validation trace for order {order_id!r}: unknown, or older than the gateway keeps traces",
        )
    return trace.to_json()


@blueprint.get("/orders/<order_id>/twopc")
def get_twopc(order_id: str) -> dict[str, Any]:
    timelines = _sources().timelines
    if timelines is None:  # a gateway built without executors (tests with fakes): nothing was executed here
        return TwoPcTimeline(_checked(order_id), (), {}, 0).to_json()
    timeline = timelines.timeline(_checked(order_id))
    if timeline.replicas and all(status != "answered" for status in timeline.replicas.values()):
        raise Problem(
            503,
            "DEPENDENCY_UNAVAILABLE",
            "Service Unavailable",
            "no order_executor replica answered",
            headers={"Retry-After": "1"},
        )
    return timeline.to_json()
