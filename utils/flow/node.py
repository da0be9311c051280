"""A service's part of the validation flow: keeps each order and its clock, runs events in causal order.

The shell around two pure cores (OrderTable, CausalGate): one lock, a small worker pool for events and the
hand-off calls, a sweeper thread for deadlines. Events run outside the lock; their outcome is data.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from utils.flow.core import checkout
from utils.flow.core.causal import CausalGate, Delivery, Released
from utils.flow.core.checkout import INIT, Service
from utils.flow.core.order_table import ClearOutcome, OrderTable
from utils.flow.core.trace import RECORDS_PER_ORDER_MAX, EventRecord, TraceBook
from utils.flow.core.vclock import VectorClock
from utils.flow.outcome import EventResult, FlowResult, FlowStatus
from utils.flow.transport import FlowTransport, SendFailed
from utils.order.order import Order
from utils.rpc import correlation, deadline
from utils.telemetry import meter, tracer, tracing_exported

log = logging.getLogger(__name__)

EventHandler = Callable[[str, Order], EventResult]  # (order_id, order) -> result; pure or nearly so


@dataclass(frozen=True, slots=True)
class FlowLimits:
    orders_max: int = 10_000  # orders a service keeps at once; beyond, InitOrder is refused
    order_ttl_s: float = 60.0  # an order never cleared (or kept after a conflict) is dropped after this
    held_per_order_max: int = 4  # events one order may have waiting for predecessors
    workers_max: int = 8  # threads running events and their hand-off calls
    sweep_interval_s: float = 0.05  # how often deadlines are checked: a held event expires at most this late
    rpc_timeout_s: float = 2.0  # each hand-off or report call (also capped by the flow's budget)
    trace_records_per_order_max: int = RECORDS_PER_ORDER_MAX  # event records kept per order for the drawing


@dataclass(slots=True)
class _Pending:
    context: contextvars.Context  # the request's context: correlation id and trace follow the event
    deadline_s: float  # monotonic time after which the flow is dead
    arrived_at_s: float = 0.0  # wall time the request to run it arrived (for the drawing)
    held: bool = False  # set when the gate holds it: it waited for a predecessor


class _Instruments:
    def __init__(self) -> None:
        m = meter("utils.flow")
        self.run = m.create_counter("flow_events_run", unit="1", description="flow events run, by event and result")
        self.held = m.create_counter(
            "flow_events_held", unit="1", description="flow events that arrived before their predecessors and waited"
        )
        self.expired = m.create_counter(
            "flow_events_expired", unit="1", description="held flow events dropped at the flow's deadline"
        )
        self.clears = m.create_counter("flow_clears", unit="1", description="order clears, by outcome (conflict!)")


_instruments: _Instruments | None = None


def _get_instruments() -> _Instruments:
    global _instruments
    if _instruments is None:
        _instruments = _Instruments()
    return _instruments


class FlowNode:
    """Thread-safe; `start()` before serving, `stop()` after."""

    def __init__(
        self,
        service: Service,
        handlers: Mapping[str, EventHandler],
        transport: FlowTransport,
        limits: FlowLimits = FlowLimits(),
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        own = {e.name for e in checkout.events_of(service)}
        if set(handlers) != own:
            raise ValueError(f"{service}: handlers {sorted(handlers)} do not match its events {sorted(own)}")
        self.service = service
        self.handlers = dict(handlers)
        self.transport = transport
        self.limits = limits
        self._now = monotonic
        self._wall = wall
        self._lock = threading.Lock()
        self._table: OrderTable[Order] = OrderTable(
            service.value, orders_max=limits.orders_max, order_ttl_s=limits.order_ttl_s
        )
        self._gate: CausalGate[_Pending] = CausalGate(
            checkout.local_graph(service), orders_max=limits.orders_max, held_per_order_max=limits.held_per_order_max
        )
        # Each event's record (stamp, wall times, held): handed on with the flow and reported (docs/drawings.md).
        self._trace = TraceBook(orders_max=limits.orders_max, records_per_order_max=limits.trace_records_per_order_max)
        self._pool = ThreadPoolExecutor(limits.workers_max, thread_name_prefix=f"{service.value}-flow")
        self._stopping = threading.Event()
        self._sweeper = threading.Thread(target=self._sweep_loop, name=f"{service.value}-sweeper", daemon=True)
        self._instruments = _get_instruments()
        # Metric attributes built once, not per clear (issue 14: the per-call cost of the clear path).
        self._clear_attributes = {o: {"service": service.value, "outcome": o.value} for o in ClearOutcome}
        self._tracer = tracer("utils.flow")

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self._sweeper.start()

    def stop(self) -> None:
        self._stopping.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # --- what the servicer calls ------------------------------------------------------------------

    def init_order(self, order_id: str, order: Order, budget_s: float) -> VectorClock:
        """Keeps the order and starts its clock (this service's first event). Idempotent for a retry."""
        with self._lock:
            now = self._now()
            clock = self._table.init(order_id, order, now)
            released = self._gate.record(order_id, INIT, clock, now + budget_s)
            at_s = self._wall()
            self._trace.add(order_id, [EventRecord(self.service.value, INIT, clock, at_s, False, at_s, at_s)])
        if log.isEnabledFor(logging.INFO):  # the clock's text is built only for a line that is written
            log.info("order initialised", extra={"order_id": order_id, "clock": str(clock)})
        self._submit_all(released)
        return clock

    def receive(
        self, name: str, order_id: str, stamp: VectorClock, budget_s: float, trace: tuple[EventRecord, ...] = ()
    ) -> Delivery | None:
        """A message starts event `name`, stamped by the sender's event before it. None: the flow has stopped.

        `trace` is what the sender knew of the flow's events: kept to be handed on and reported, never trusted
        for ordering (the stamp alone decides).
        """
        announced = checkout.message_announces(name)
        with self._lock:
            now = self._now()
            record = self._table.get(order_id)
            if record is not None and not self._table.is_running(order_id):
                return None
            pending = _Pending(contextvars.copy_context(), now + budget_s, self._wall())
            released = self._gate.record(order_id, announced, stamp, pending.deadline_s)
            delivery = self._gate.offer(order_id, name, pending.deadline_s, pending)
            missing = self._gate.missing(order_id, name) if delivery is Delivery.HOLD else ()
            pending.held = delivery is Delivery.HOLD
            self._trace.add(order_id, trace)
        if delivery is Delivery.HOLD:
            self._instruments.held.add(1, {"service": self.service.value, "event": name})
            log.info("event held", extra={"order_id": order_id, "event": name, "waiting_for": list(missing)})
        elif delivery is Delivery.RUN:
            self._submit(order_id, name, pending)
        self._submit_all(released)
        if delivery is Delivery.DUPLICATE and any(r.event == name for r in released):
            return Delivery.RUN  # held after a local predecessor and released by this very message: it runs now
        return delivery

    def clear_many(
        self, finals: Sequence[tuple[str, VectorClock, str]]
    ) -> list[tuple[ClearOutcome, VectorClock | None]]:
        """The orchestrator's broadcast, in a batch of (order id, final clock, correlation id): each order is cleared
        only if this service's clock is <= its final one (docs/design.md §3.4), judged alone, under one taking of
        the lock; each answer's log line carries its checkout's id."""
        with self._lock:
            judged = [self._clear_locked(order_id, final) for order_id, final, _cid in finals]
        for (order_id, final, cid), (outcome, clock, dropped) in zip(finals, judged, strict=True):
            token = correlation.set_correlation_id(cid) if cid else None
            try:
                self._after_clear(order_id, final, outcome, clock, dropped)
            finally:
                if token is not None:
                    correlation.reset_correlation_id(token)
        return [(outcome, clock) for outcome, clock, _dropped in judged]

    def _clear_locked(self, order_id: str, final: VectorClock) -> tuple[ClearOutcome, VectorClock | None, list[str]]:
        outcome, clock = self._table.clear(order_id, final)
        dropped = self._gate.forget(order_id)  # the flow is over either way: nothing waits any more
        self._trace.forget(order_id)  # reported with the outcome already; the gateway keeps it now
        return outcome, clock, dropped

    def _after_clear(
        self,
        order_id: str,
        final: VectorClock,
        outcome: ClearOutcome,
        clock: VectorClock | None,
        dropped: list[str],
    ) -> None:
        self._instruments.clears.add(1, self._clear_attributes[outcome])
        conflict = outcome is ClearOutcome.CONFLICT
        if conflict or log.isEnabledFor(logging.INFO):
            extra = {"order_id": order_id, "clock": str(clock), "final_clock": str(final), "dropped_events": dropped}
            if conflict:
                log.warning("clear conflict: own clock is not <= final clock; state kept", extra=extra)
            else:
                log.info("order clear", extra={**extra, "outcome": outcome.value})

    def trace(self, order_id: str) -> tuple[EventRecord, ...]:
        """The event records this node knows for the order: its own and those handed to it."""
        with self._lock:
            return self._trace.records(order_id)

    def snapshot(self, order_id: str) -> tuple[VectorClock | None, dict[str, VectorClock], tuple[str, ...]]:
        """The order's clock, the stamps this node knows, and the events it holds (for tests and debugging)."""
        with self._lock:
            record = self._table.get(order_id)
            return (record.clock if record else None), self._gate.happened(order_id), self._gate.held(order_id)

    # --- running events --------------------------------------------------------------------------

    def _submit_all(self, released: list[Released[_Pending]]) -> None:
        for item in released:
            self._submit(item.order_id, item.event, item.payload)

    def _submit(self, order_id: str, name: str, pending: _Pending) -> None:
        if self._stopping.is_set():
            return
        # Each job runs in its own copy of the request's context (a Context cannot be entered twice at once).
        self._pool.submit(pending.context.copy().run, self._run_event, order_id, name, pending)

    def _run_event(self, order_id: str, name: str, pending: _Pending) -> None:
        deadline_s = pending.deadline_s
        ran_at_s = self._wall()
        token = deadline.set_deadline_in(max(0.0, deadline_s - self._now()))
        try:
            with self._lock:
                record = self._table.get(order_id)
                if record is None or not self._table.is_running(order_id):
                    return  # cleared, failed or expired meanwhile: nothing to do
                inputs = self._gate.inputs(order_id, name)
            with (
                self._tracer.start_as_current_span(
                    f"{self.service.value}.{name}", attributes={"flow.event": name, "order.id": order_id}
                )
                if tracing_exported()  # no exporter: a span nobody reads is not worth its cost per event
                else contextlib.nullcontext()
            ):
                try:
                    result = self.handlers[name](order_id, record.order)
                except Exception:  # a bug in a rule must not hang the checkout: the flow fails, loudly
                    log.exception("event handler failed", extra={"order_id": order_id, "event": name})
                    self._instruments.run.add(1, {"service": self.service.value, "event": name, "result": "error"})
                    reasons = (f"{name} failed unexpectedly",)
                    self._fail(order_id, name, FlowStatus.FAILED, reasons, self.service.value, pending)
                    return
                self._after_event(order_id, name, inputs, result, pending, ran_at_s)
        except Exception:
            log.exception("flow event crashed", extra={"order_id": order_id, "event": name})
            raise
        finally:
            deadline.reset_deadline(token)

    def _after_event(
        self, order_id: str, name: str, inputs: VectorClock, result: EventResult, pending: _Pending, ran_at_s: float
    ) -> None:
        deadline_s = pending.deadline_s
        label = "passed" if result.passed else "rejected"
        self._instruments.run.add(1, {"service": self.service.value, "event": name, "result": label})
        released: list[Released[_Pending]] = []
        local_runs: list[tuple[str, _Pending]] = []
        with self._lock:
            if not self._table.is_running(order_id):
                return
            stamp = self._table.advance(order_id, inputs)
            self._trace.add(
                order_id,
                [
                    EventRecord(
                        self.service.value,
                        name,
                        stamp,
                        self._wall(),
                        pending.held,
                        pending.arrived_at_s or ran_at_s,
                        ran_at_s,
                        result.passed,
                        result.reasons,
                    )
                ],
            )
            if result.passed:
                released = self._gate.record(order_id, name, stamp, deadline_s)
                for successor in checkout.successors(name):
                    if successor.service is self.service:
                        follower = _Pending(contextvars.copy_context(), deadline_s, self._wall())
                        delivery = self._gate.offer(order_id, successor.name, deadline_s, follower)
                        follower.held = delivery is Delivery.HOLD
                        if delivery is Delivery.RUN:
                            local_runs.append((successor.name, follower))
                        elif delivery is Delivery.HOLD:  # e.g. e after d, while c's message is still on its way
                            self._instruments.held.add(1, {"service": self.service.value, "event": successor.name})
            else:
                self._table.stop(order_id)
                self._gate.forget(order_id)
        if log.isEnabledFor(logging.INFO):
            log.info(
                "event run",
                extra={
                    "order_id": order_id,
                    "event": name,
                    "result": label,
                    "stamp": str(stamp),
                    "reasons": list(result.reasons),
                },
            )
        if not result.passed:
            self._report(FlowResult(order_id, FlowStatus.REJECTED, result.reasons, (), stamp, self.service.value, name))
            return
        if checkout.is_last(name):
            self._report(
                FlowResult(order_id, FlowStatus.APPROVED, (), result.suggestions, stamp, self.service.value, name)
            )
        self._submit_all(released)
        for successor_name, follower in local_runs:
            self._submit(order_id, successor_name, follower)
        for successor in checkout.successors(name):
            if successor.service is not self.service:
                self._hand_on(order_id, successor.name, stamp)

    def _hand_on(self, order_id: str, name: str, stamp: VectorClock) -> None:
        budget_s = deadline.remaining_s() or 0.0
        with self._lock:
            trace = self._trace.records(order_id)
        try:
            self.transport.send_event(name, order_id, stamp, budget_s, trace)
        except SendFailed as failure:
            log.warning(
                "hand-off failed",
                extra={"order_id": order_id, "event": name, "peer": failure.service, "code": failure.code},
            )
            with self._lock:
                if not self._table.is_running(order_id):
                    return
                self._table.stop(order_id)
            self._report(
                FlowResult(
                    order_id,
                    FlowStatus.FAILED,
                    (f"{failure.service} is unavailable",),
                    (),
                    stamp,
                    failure.service,
                    name,
                )
            )

    def _fail(
        self,
        order_id: str,
        name: str,
        status: FlowStatus,
        reasons: tuple[str, ...],
        service: str,
        pending: _Pending | None = None,
    ) -> None:
        with self._lock:
            record = self._table.get(order_id)
            if record is None or not self._table.is_running(order_id):
                return
            self._table.stop(order_id)
            self._gate.forget(order_id)
            clock = record.clock
            # It never ran to a stamp of its own: drawn at the service's clock when it failed, with its reason.
            now_s = self._wall()
            arrived_s = pending.arrived_at_s if pending else now_s
            held = pending.held if pending else False
            failed = EventRecord(self.service.value, name, clock, now_s, held, arrived_s, 0.0, False, reasons)
            self._trace.add(order_id, [failed])
        self._report(FlowResult(order_id, status, reasons, (), clock, service, name))

    def _report(self, result: FlowResult) -> None:
        with self._lock:
            result = replace(result, trace=self._trace.records(result.order_id))
        # A report is small and the orchestrator ignores a late one: it gets its own deadline, not the flow's.
        token = deadline.set_deadline_in(None)
        try:
            self.transport.report(result)
        except SendFailed as failure:
            log.warning("flow report failed", extra={"order_id": result.order_id, "code": failure.code})
        finally:
            deadline.reset_deadline(token)

    # --- deadlines ---------------------------------------------------------------------------------

    def _sweep_loop(self) -> None:
        while not self._stopping.wait(self.limits.sweep_interval_s):
            try:
                self.sweep()
            except Exception:
                log.exception("sweep failed")

    def sweep(self) -> None:
        """Drops held events past their deadline (the flow fails: a predecessor never came) and old orders."""
        with self._lock:
            now = self._now()
            expired = self._gate.expire(now)
            for order_id in self._table.expire(now):
                self._gate.forget(order_id)
                self._trace.forget(order_id)
                log.info("order expired", extra={"order_id": order_id})
        for item in expired:
            self._instruments.expired.add(1, {"service": self.service.value, "event": item.event})
            reason = f"{item.event} timed out waiting for {', '.join(item.missing)}"
            log.warning(
                "event expired",
                extra={"order_id": item.order_id, "event": item.event, "waiting_for": list(item.missing)},
            )
            item.payload.context.copy().run(
                self._fail, item.order_id, item.event, FlowStatus.FAILED, (reason,), self.service.value, item.payload
            )
