"""The orchestrator's side of the validation flow: initialise TV, FD and S, start the flow, await its outcome.

The services order the events themselves (vector clocks, docs/design.md §3); this module only starts the flow, waits
for the FlowReport with a deadline, and afterwards broadcasts the final clock so each service can clear (in batches:
orchestrator/clear_broadcast.py).

Fan-outs are blocking calls on long-lived threads (one of them the caller's), not gRPC futures: a future on a
channel with no call in flight starts a new polling thread in grpc, which at checkout rates meant one per call.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from orchestrator.checkout import SuggestedBook, ValidationOutcome
from orchestrator.checkout_errors import DependencyUnavailable
from orchestrator.clear_broadcast import ClearBroadcaster
from orchestrator.flow_report import FlowReportServicer, FlowWaiters, WaitersFull
from orchestrator.flow_traces import FlowTrace, FlowTraces, build_trace, gateway_records
from utils.flow.core.checkout import VALIDATION_SERVICES, Service, message_events
from utils.flow.core.clear_batch import CLEAR_BATCH_ORDERS_MAX
from utils.flow.core.trace import OUTCOME, EventRecord
from utils.flow.core.vclock import VectorClock
from utils.flow.outcome import FlowResult, FlowStatus
from utils.flow.trace_wire import records_from_proto
from utils.flow.transport import service_address
from utils.order.order import Order
from utils.order.wire import order_to_proto
from utils.pb.common import common_pb2
from utils.pb.fraud_detection import fraud_detection_pb2_grpc
from utils.pb.orchestrator import flow_report_pb2, flow_report_pb2_grpc
from utils.pb.suggestions import suggestions_pb2_grpc
from utils.pb.transaction_verification import transaction_verification_pb2_grpc
from utils.rpc.client import call, open_channel
from utils.rpc.server import GrpcService
from utils.rpc.trust import installed_trust
from utils.settings import FleetSettings
from utils.telemetry import meter

log = logging.getLogger(__name__)

FLOW_REPORT_SERVICE = flow_report_pb2.DESCRIPTOR.services_by_name["FlowReport"].full_name
_STUBS: dict[Service, Callable[[grpc.Channel], Any]] = {
    Service.TRANSACTION_VERIFICATION: transaction_verification_pb2_grpc.TransactionVerificationStub,
    Service.FRAUD_DETECTION: fraud_detection_pb2_grpc.FraudDetectionStub,
    Service.SUGGESTIONS: suggestions_pb2_grpc.SuggestionsStub,
}
# What each service may see of the order: the CVV goes to verification only, the cart alone to suggestions.
_VIEWS: dict[Service, Callable[[Order], Order]] = {
    Service.TRANSACTION_VERIFICATION: lambda order: order,
    Service.FRAUD_DETECTION: Order.without_cvv,
    Service.SUGGESTIONS: Order.items_only,
}


class ValidationFlow:
    """Thread-safe: one instance serves every checkout of the process."""

    def __init__(
        self,
        settings: FleetSettings,
        flow_timeout_s: float = 3.0,
        *,
        listen: str | None = None,
        rpc_timeout_s: float = 2.0,
        waiting_max: int = 1_000,
        probe_timeout_s: float = 1.0,
        callers_max: int = 32,
        clear_batch_orders_max: int = CLEAR_BATCH_ORDERS_MAX,
        clear_batch_wait_s: float = 0.5,  # at 10 checkouts/s a batch holds ~5 orders; a clear is off the answer's path
        clear_backlog_max: int = 1_024,
    ) -> None:
        if flow_timeout_s <= 0 or rpc_timeout_s <= 0:
            raise ValueError("flow_timeout_s and rpc_timeout_s must be positive")
        self.settings = settings
        self.flow_timeout_s = flow_timeout_s
        self.rpc_timeout_s = rpc_timeout_s
        self.probe_timeout_s = probe_timeout_s
        self.listen = listen or settings.orchestrator_flow_addr
        self.waiters = FlowWaiters(waiting_max)
        self.traces = FlowTraces()  # each order's event records, for the order page's drawing (docs/drawings.md)
        # The flow services take InitOrder, the start and ClearOrders from the orchestrator's identity alone.
        own = installed_trust().tls.as_identity(Service.ORCHESTRATOR.value)
        self._channels = {s: open_channel(service_address(settings, s), s.value, tls=own) for s in VALIDATION_SERVICES}
        self._stubs = {s: _STUBS[s](self._channels[s]) for s in VALIDATION_SERVICES}
        self._health = {s: health_pb2_grpc.HealthStub(self._channels[s]) for s in VALIDATION_SERVICES}
        # The checkout's own fan-out calls; their queue is bounded by the gateway's admission of checkouts.
        self._callers = ThreadPoolExecutor(callers_max, thread_name_prefix="flow-call")
        # The clears, in batches on threads of their own (one ClearOrders per service for up to 64 orders), so a
        # backlog of clears never delays a checkout; past the backlog bound a clear is skipped (logged, counted).
        self._clears = ClearBroadcaster(
            {s: self._stubs[s].ClearOrders for s in VALIDATION_SERVICES},
            rpc_timeout_s,
            orders_max=clear_batch_orders_max,
            wait_s=clear_batch_wait_s,
            backlog_max=clear_backlog_max,
        )
        self._server: GrpcService | None = None
        m = meter("orchestrator.validation_flow")
        self._outcomes = m.create_counter(
            "validation_flow_outcomes",
            unit="1",
            description="validation flows, by outcome (approved/rejected/unavailable)",
        )
        self._duration = m.create_histogram(
            "validation_flow_duration", unit="s", description="from initialising the services to the flow's outcome"
        )

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> int:
        """Serves FlowReport on `listen` (default ORCHESTRATOR_FLOW_ADDR); returns the port."""
        servicer = FlowReportServicer(self.waiters)
        self._server = GrpcService(
            "orchestrator-flow",
            self.listen,
            [lambda s: flow_report_pb2_grpc.add_FlowReportServicer_to_server(servicer, s)],
            [FLOW_REPORT_SERVICE],
            workers_max=16,
            shutdown_grace_s=1.0,
            identity=Service.ORCHESTRATOR.value,  # the name the flow services dial (utils/flow/transport.py)
        )
        port = self._server.start()
        self._clears.start()
        return port

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        self._callers.shutdown(wait=False, cancel_futures=True)
        self._clears.stop()
        for channel in self._channels.values():
            channel.close()

    # --- one checkout --------------------------------------------------------------------------------

    def validate(self, order: Order) -> ValidationOutcome:
        """Raises DependencyUnavailable when a service's call fails (its gRPC code as the detail) or time runs out."""
        order_id = order.order_id
        started = time.monotonic()
        deadline_s = started + self.flow_timeout_s
        try:
            self.waiters.expect(order_id)
        except WaitersFull as full:
            self._outcomes.add(1, {"outcome": "unavailable"})
            raise DependencyUnavailable("validation_flow", str(full)) from None
        try:
            init_sent_at_s = time.time()
            init_clock, init_records = self._init_services(order_id, order, deadline_s)
            start_at_s = time.time()
            self._start_flow(order_id, deadline_s, init_clock)
            result = self.waiters.wait(order_id, deadline_s - time.monotonic())
            self._keep_trace(
                order_id,
                result,
                gateway_records(
                    init_sent_at_s, start_at_s, init_clock, time.time(), result.clock if result else VectorClock()
                )
                + init_records,
            )
        except DependencyUnavailable:
            self._outcomes.add(1, {"outcome": "unavailable"})
            raise
        finally:
            self.waiters.discard(order_id)
        self._duration.record(time.monotonic() - started)
        return self._outcome(order_id, result)

    def flow_trace(self, order_id: str) -> FlowTrace | None:
        return self.traces.get(order_id)

    def _keep_trace(self, order_id: str, result: FlowResult | None, own: list[EventRecord]) -> None:
        status = result.status.name.lower() if result else "no outcome"
        if result is None:
            own = [r for r in own if r.event != OUTCOME]  # no outcome arrived: no outcome event to draw
        self.traces.put(build_trace(order_id, status, own, result.trace if result else ()))

    def _outcome(self, order_id: str, result: FlowResult | None) -> ValidationOutcome:
        if result is None:
            self._outcomes.add(1, {"outcome": "unavailable"})
            log.warning("validation flow timed out", extra={"order_id": order_id, "timeout_s": self.flow_timeout_s})
            raise DependencyUnavailable("validation_flow", f"no outcome within {self.flow_timeout_s} s")
        if result.status is FlowStatus.FAILED:
            self._outcomes.add(1, {"outcome": "unavailable"})
            log.warning(
                "validation flow failed",
                extra={"order_id": order_id, "service": result.service, "reasons": list(result.reasons)},
            )
            raise DependencyUnavailable(result.service, "; ".join(result.reasons))
        approved = result.status is FlowStatus.APPROVED
        self._outcomes.add(1, {"outcome": "approved" if approved else "rejected"})
        if log.isEnabledFor(logging.INFO):  # the clock's text is built only for a line that is written
            log.info(
                "validation flow done",
                extra={
                    "order_id": order_id,
                    "approved": approved,
                    "reasons": list(result.reasons),
                    "final_clock": str(result.clock),
                },
            )
        return ValidationOutcome(
            approved=approved,
            reasons=result.reasons,
            suggestions=tuple(SuggestedBook(s.book_id, s.title, s.author) for s in result.suggestions)
            if approved
            else (),
            final_clock=result.clock.as_dict(),
        )

    def _timeout_s(self, deadline_s: float) -> float:
        left = deadline_s - time.monotonic()
        if left <= 0:
            raise DependencyUnavailable("validation_flow", "the flow's deadline passed")
        return min(self.rpc_timeout_s, left)

    def _budget_ms(self, deadline_s: float) -> int:
        return max(0, int((deadline_s - time.monotonic()) * 1000))

    def _init_services(self, order_id: str, order: Order, deadline_s: float) -> tuple[VectorClock, list[EventRecord]]:
        """InitOrder on the three services at once; each keeps its view of the order and starts its clock.

        Returns the merge of their clocks (the flow starts after every init, and its stamps say so) and each
        service's record of its InitOrder event, for the drawing.
        """
        self._timeout_s(deadline_s)  # raises if no time is left
        calls = [
            (
                service,
                self._stubs[service].InitOrder,
                common_pb2.InitOrderRequest(
                    order_id=order_id,
                    order=order_to_proto(_VIEWS[service](order)),
                    budget_ms=self._budget_ms(deadline_s),
                ),
            )
            for service in VALIDATION_SERVICES
        ]
        replies = self._await_all(order_id, self._fan_out(calls, deadline_s))
        try:
            clock = VectorClock().merge(*(VectorClock.from_proto(reply.clock) for reply in replies))
        except ValueError as error:
            raise DependencyUnavailable("validation_flow", f"a service sent a bad clock: {error}") from None
        records, _malformed = records_from_proto(reply.record for reply in replies if reply.HasField("record"))
        return clock, list(records)

    def _start_flow(self, order_id: str, deadline_s: float, init_clock: VectorClock) -> None:
        """Sends the root events (a, b) to transaction_verification; from there the services hand it on.

        Their stamp is the merged init clocks (the orchestrator keeps no counter of its own), so the final
        clock, even a failure's, covers every service's init and a service that did nothing more can clear.
        """
        self._timeout_s(deadline_s)  # raises if no time is left
        stub = self._stubs[Service.TRANSACTION_VERIFICATION]
        start_stamp = init_clock.to_proto()
        calls = [
            (
                Service.TRANSACTION_VERIFICATION,
                getattr(stub, name),
                common_pb2.EventRequest(order_id=order_id, clock=start_stamp, budget_ms=self._budget_ms(deadline_s)),
            )
            for name in message_events(Service.TRANSACTION_VERIFICATION)
        ]
        self._await_all(order_id, self._fan_out(calls, deadline_s))

    def _fan_out(self, calls: list[tuple[Service, Any, Any]], deadline_s: float) -> list[tuple[Service, Future[Any]]]:
        """Starts every call but the last on the callers' threads and makes the last in this one; each call's
        deadline is taken when it starts (the rpc timeout, capped by the flow's deadline and the request's)."""

        def blocking(rpc: Any, request: Any) -> Any:
            return call(rpc, request, timeout_s=max(0.001, min(self.rpc_timeout_s, deadline_s - time.monotonic())))

        started: list[tuple[Service, Future[Any]]] = []
        for service, rpc, request in calls[:-1]:
            context = contextvars.copy_context()  # the correlation id and the request's deadline go along
            started.append((service, self._callers.submit(context.run, blocking, rpc, request)))
        service, rpc, request = calls[-1]
        own: Future[Any] = Future()
        try:
            own.set_result(blocking(rpc, request))
        except grpc.RpcError as error:
            own.set_exception(error)
        return [*started, (service, own)]

    def _await_all(self, order_id: str, calls: list[tuple[Service, Future[Any]]]) -> list[Any]:
        failed: list[tuple[str, grpc.StatusCode]] = []
        replies = []
        for service, future in calls:
            try:
                replies.append(future.result())
            except grpc.RpcError as error:
                failed.append((service.value, error.code()))
        if failed:
            name, code = failed[0]
            log.warning(
                "validation service call failed", extra={"order_id": order_id, "service": name, "code": code.name}
            )
            raise DependencyUnavailable(name, code.name)
        return replies

    # --- after the answer ------------------------------------------------------------------------------

    def broadcast_clear(self, order_id: str, final_clock: dict[str, int]) -> None:
        """Tells each service the final clock, without waiting: each clears, or keeps the order and logs a conflict.

        Queued for the next ClearOrders batch of each service (sent once full or after a bounded wait).
        """
        self._clears.broadcast(order_id, VectorClock.of(final_clock))

    def readiness(self) -> dict[str, bool]:
        """Whether each validation service answers its health check as SERVING."""
        futures = {
            s: self._health[s].Check.future(health_pb2.HealthCheckRequest(), timeout=self.probe_timeout_s)
            for s in VALIDATION_SERVICES
        }
        ready: dict[str, bool] = {}
        for service, future in futures.items():
            try:
                ready[service.value] = future.result().status == health_pb2.HealthCheckResponse.SERVING
            except grpc.RpcError:
                ready[service.value] = False
        return ready
