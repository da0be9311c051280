"""The orchestrator's FlowReport servicer and the checkouts waiting on it, one slot per order.

The flow's last event or first failure reports here; the first report for an order wins, later ones are ignored.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import grpc

from utils.flow.outcome import FlowResult
from utils.pb.orchestrator import flow_report_pb2, flow_report_pb2_grpc

log = logging.getLogger(__name__)


class WaitersFull(Exception):
    """More checkouts waiting for their flow than the orchestrator allows."""


@dataclass(slots=True)
class _Slot:
    arrived: threading.Event = field(default_factory=threading.Event)
    result: FlowResult | None = None


class FlowWaiters:
    """Checkouts waiting for their flow's outcome; bounded, so a flood cannot grow it without end."""

    def __init__(self, waiting_max: int) -> None:
        if waiting_max < 1:
            raise ValueError("waiting_max must be at least 1")
        self.waiting_max = waiting_max
        self._slots: dict[str, _Slot] = {}
        self._lock = threading.Lock()

    def expect(self, order_id: str) -> None:
        with self._lock:
            if order_id in self._slots:
                raise ValueError(f"a checkout is already waiting for order {order_id}")
            if len(self._slots) >= self.waiting_max:
                raise WaitersFull(f"{len(self._slots)} checkouts already waiting")
            self._slots[order_id] = _Slot()

    def deliver(self, result: FlowResult) -> bool:
        """Hands a report to its waiting checkout; False when none waits or it already has its outcome."""
        with self._lock:
            slot = self._slots.get(result.order_id)
            if slot is None or slot.result is not None:
                return False
            slot.result = result
        slot.arrived.set()
        return True

    def wait(self, order_id: str, timeout_s: float) -> FlowResult | None:
        with self._lock:
            slot = self._slots[order_id]
        slot.arrived.wait(max(0.0, timeout_s))
        return slot.result

    def discard(self, order_id: str) -> None:
        with self._lock:
            self._slots.pop(order_id, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._slots)


class FlowReportServicer(flow_report_pb2_grpc.FlowReportServicer):
    def __init__(self, waiters: FlowWaiters) -> None:
        self.waiters = waiters

    def Report(self, request: flow_report_pb2.FlowOutcome, context: grpc.ServicerContext) -> flow_report_pb2.ReportAck:
        try:
            result = FlowResult.from_proto(request)
        except ValueError as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"bad flow outcome: {error}")
            raise AssertionError("context.abort returns only by raising") from error
        known = self.waiters.deliver(result)
        log.info(
            "flow outcome",
            extra={
                "order_id": result.order_id,
                "status": result.status.name,
                "reporter": result.service,
                "event": result.event,
                "clock": str(result.clock),
                "known": known,
            },
        )
        return flow_report_pb2.ReportAck(known=known)
