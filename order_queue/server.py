"""The OrderQueue servicer: parse the request → call the store (policy and lease table inside) → map to a reply.

Store errors map to gRPC codes: QueueFull → RESOURCE_EXHAUSTED, UnknownOrder → NOT_FOUND,
LeaseError → FAILED_PRECONDITION, ValueError → INVALID_ARGUMENT.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import grpc
from opentelemetry.metrics import CallbackOptions, Observation

from order_queue.arrivals import Arrivals, Wake
from order_queue.core.ack_batch import AckInput, Refusal
from order_queue.core.lease import LeaseError, State
from order_queue.core.policy import OrderFeatures, Shipping
from order_queue.store import AckAnswer, QueueFull, QueueStore, StoredOrder, UnknownOrder
from utils.order.order import Order
from utils.order.wire import order_from_queue_proto, order_to_queue_proto
from utils.pb.order_queue import order_queue_pb2 as pb
from utils.pb.order_queue import order_queue_pb2_grpc as pb_grpc
from utils.rpc.status import abort
from utils.telemetry import meter

log = logging.getLogger(__name__)
Reply = TypeVar("Reply")
SERVICE_NAME = "bookstore.order_queue.OrderQueue"
QUANTITY_MAX = 10_000
ID_LENGTH_MAX = 128
# A waiting LeaseBatch answers this long before the caller's deadline, so the answer still reaches it.
_DEADLINE_MARGIN_S = 0.2
_REFUSAL_CODE = {
    Refusal.UNKNOWN_ORDER: grpc.StatusCode.NOT_FOUND,
    Refusal.STALE_LEASE: grpc.StatusCode.FAILED_PRECONDITION,
    Refusal.INVALID: grpc.StatusCode.INVALID_ARGUMENT,
}


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """Bounds of LeaseBatch and AckBatch (order_queue/settings.py)."""

    lease_batch_max: int = 32
    lease_wait_s_max: float = 1.0
    lease_waiters_max: int = 4
    ack_batch_max: int = 64


_STATE_TO_PB = {
    State.QUEUED: pb.QUEUED,
    State.LEASED: pb.LEASED,
    State.EXECUTING: pb.EXECUTING,
    State.COMMITTED: pb.COMMITTED,
    State.ABORTED: pb.ABORTED,
    State.REJECTED: pb.REJECTED,
}
_PB_TO_STATE: dict[int, State] = {int(v): k for k, v in _STATE_TO_PB.items()}


class _Abort(Exception):
    def __init__(self, code: grpc.StatusCode, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@contextmanager
def _mapped_errors() -> Iterator[None]:
    try:
        yield
    except QueueFull as error:
        raise _Abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(error)) from error
    except UnknownOrder as error:
        raise _Abort(grpc.StatusCode.NOT_FOUND, str(error)) from error
    except LeaseError as error:
        raise _Abort(grpc.StatusCode.FAILED_PRECONDITION, str(error)) from error
    except ValueError as error:
        raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, str(error)) from error


def features_of(order: Order) -> OrderFeatures:
    return OrderFeatures(
        quantity_total=sum(item.quantity for item in order.items),
        shipping=Shipping.parse(order.shipping_method),
        gift_wrapping=order.gift_wrapping,
    )


def checked_order(message: pb.Order) -> Order:
    """Peer input is validated: at most ITEMS_MAX items (the wire conversion refuses more), ids bounded,
    quantities positive, and never more than a card's last four."""
    order = order_from_queue_proto(message)
    if not order.order_id or len(order.order_id) > ID_LENGTH_MAX:
        raise ValueError(f"order_id must be 1..{ID_LENGTH_MAX} characters")
    for item in order.items:
        if not 1 <= item.quantity <= QUANTITY_MAX:
            raise ValueError(f"item {item.book_id!r}: quantity must be 1..{QUANTITY_MAX}")
    last4 = order.credit_card.last4
    if len(last4) > 4 or not (last4 == "" or last4.isdigit()):
        raise ValueError("card_last4 holds at most the last four digits of a card")
    return order


def to_record(stored: StoredOrder) -> pb.OrderRecord:
    return pb.OrderRecord(
        order=_order_of(stored),
        state=_STATE_TO_PB[stored.state],
        reason=stored.reason,
        total=stored.total,
        updated_at=stored.updated_at,
        attempts=stored.attempts,
    )


def _order_of(stored: StoredOrder) -> pb.Order:
    order = pb.Order.FromString(stored.payload)
    order.enqueued_at = stored.enqueued_at
    order.priority = stored.priority
    return order


def _state(value: int) -> State:
    state = _PB_TO_STATE.get(value)
    if state is None:
        raise ValueError(f"unknown order state {value}")
    return state


class OrderQueueServicer(pb_grpc.OrderQueueServicer):
    def __init__(self, store: QueueStore, lease_s_max: float, limits: BatchLimits = BatchLimits()) -> None:
        self.store = store
        self.lease_s_max = lease_s_max
        self.limits = limits
        self.arrivals = Arrivals(limits.lease_waiters_max)
        m = meter("order_queue")
        self._enqueued = m.create_counter("order_queue_enqueued", unit="1", description="orders enqueued (new ids)")
        self._leases = m.create_counter("order_queue_leases", unit="1", description="leases granted")
        self._outcomes = m.create_counter("order_queue_outcomes", unit="1", description="final outcomes, by state")
        self._ack_batch = m.create_histogram(
            "order_queue_ack_batch", unit="1", description="acks carried by one AckBatch call (one commit)"
        )
        m.create_observable_gauge(
            "order_queue_depth", callbacks=[self._observe_depth], unit="1", description="orders waiting or leased"
        )
        m.create_observable_counter(
            "order_queue_commits",
            callbacks=[lambda _o: iter([Observation(self.store.commits)])],
            unit="1",
            description="SQLite write transactions committed (each one fsync of the WAL)",
        )

    def _observe_depth(self, _options: CallbackOptions) -> Iterator[Observation]:
        stats = self.store.stats()
        yield Observation(stats.depth, {"kind": "depth"})
        yield Observation(stats.leased, {"kind": "leased"})

    def _serve(self, context: grpc.ServicerContext, work: Callable[[], Reply]) -> Reply:
        try:
            with _mapped_errors():
                return work()
        except _Abort as refused:
            abort(context, refused.code, refused.detail)

    def Enqueue(self, request: pb.EnqueueRequest, context: grpc.ServicerContext) -> pb.EnqueueReply:
        def work() -> pb.EnqueueReply:
            order = checked_order(request.order)
            result = self.store.enqueue(order.order_id, _payload(order), features_of(order))
            if result.created:
                self.arrivals.announce()
                self._enqueued.add(1)
                log.info(
                    "enqueued",
                    extra={"order_id": result.order.order_id, "priority": result.order.priority, "depth": result.depth},
                )
            return pb.EnqueueReply(order=_order_of(result.order), created=result.created, depth=result.depth)

        return self._serve(context, work)

    def LeaseBatch(self, request: pb.LeaseBatchRequest, context: grpc.ServicerContext) -> pb.LeaseBatchReply:
        def work() -> pb.LeaseBatchReply:
            self._check_lease_batch(request)
            wait_s = request.wait_s
            remaining = context.time_remaining()
            if remaining is not None:
                wait_s = min(wait_s, remaining - _DEADLINE_MARGIN_S)
            deadline = time.monotonic() + wait_s
            # A caller that went away (stopped, killed, gave up) must not be handed orders it will never run:
            # its cancellation wakes the wait, and every look first checks that the caller is still there.
            answered = False

            def on_call_end() -> None:
                if not answered:  # ended before the answer: cancelled mid-wait (a normal end wakes nobody)
                    self.arrivals.announce()

            context.add_callback(on_call_end)
            leased: list[StoredOrder] = []
            while context.is_active():
                generation = self.arrivals.generation()  # before looking, so an arrival meanwhile is not missed
                leased = self.store.lease_batch(request.lease_s, request.count_max, started=True)
                left_s = deadline - time.monotonic()
                if leased:
                    break
                if self.arrivals.wait_after(generation, left_s) is not Wake.ARRIVED:
                    # One last look after a timeout: an expired lease is requeued by the lease itself.
                    if context.is_active():
                        leased = self.store.lease_batch(request.lease_s, request.count_max, started=True)
                    break
            if leased and not context.is_active():
                self._give_back(leased)  # cancelled while the lease was written: the answer reaches nobody
                leased = []
            if leased:
                self._leases.add(len(leased))
                log.info(
                    "leased",
                    extra={
                        "order_ids": [o.order_id for o in leased],
                        "worker_id": request.worker_id,
                        "attempts": [o.attempts for o in leased],
                    },
                )
            answered = True
            return pb.LeaseBatchReply(
                leases=[
                    pb.LeaseReply(order=_order_of(o), lease_id=o.lease_id, lease_expires_at=o.lease_expires_at)
                    for o in leased
                ]
            )

        return self._serve(context, work)

    def _give_back(self, leased: list[StoredOrder]) -> None:
        for stored in leased:
            self.store.nack(stored.order_id, stored.lease_id)
        log.info("lease given back: its caller left", extra={"order_ids": [o.order_id for o in leased]})
        self.arrivals.announce()

    def _check_lease_batch(self, request: pb.LeaseBatchRequest) -> None:
        if not request.worker_id:
            raise ValueError("worker_id is required")
        if not 0 < request.lease_s <= self.lease_s_max:
            raise ValueError(f"lease_s must be in (0, {self.lease_s_max}]")
        if not 1 <= request.count_max <= self.limits.lease_batch_max:
            raise ValueError(f"count_max must be in [1, {self.limits.lease_batch_max}]")
        if not 0 <= request.wait_s <= self.limits.lease_wait_s_max:
            raise ValueError(f"wait_s must be in [0, {self.limits.lease_wait_s_max}]")

    def AckBatch(self, request: pb.AckBatchRequest, context: grpc.ServicerContext) -> pb.AckBatchReply:
        def work() -> pb.AckBatchReply:
            if not 1 <= len(request.acks) <= self.limits.ack_batch_max:
                raise ValueError(f"an AckBatch carries 1..{self.limits.ack_batch_max} acks")
            acks = [
                # An unknown outcome number reads as QUEUED, which the judge refuses alone (INVALID_ARGUMENT).
                AckInput(a.order_id, a.lease_id, _PB_TO_STATE.get(a.outcome, State.QUEUED), a.reason, a.total)
                for a in request.acks
            ]
            answers = self.store.ack_batch(acks)  # returns after the one commit: every accepted ack is durable
            self._ack_batch.record(len(acks))
            return pb.AckBatchReply(results=[self._ack_result(answer) for answer in answers])

        return self._serve(context, work)

    def _ack_result(self, answer: AckAnswer) -> pb.AckResult:
        judgement = answer.judgement
        if judgement.refusal is not None or answer.order is None:
            code = _REFUSAL_CODE[judgement.refusal or Refusal.INVALID]
            return pb.AckResult(code=code.value[0], detail=judgement.detail)
        if judgement.before is not None and not judgement.before.is_final and answer.order.state.is_final:
            self._outcomes.add(1, {"state": answer.order.state.value})
            log.info("order finished", extra={"order_id": answer.order.order_id, "state": answer.order.state.value})
        return pb.AckResult(state=_STATE_TO_PB[answer.order.state], code=grpc.StatusCode.OK.value[0])

    def Nack(self, request: pb.NackRequest, context: grpc.ServicerContext) -> pb.NackReply:
        def work() -> pb.NackReply:
            stored = self.store.nack(request.order_id, request.lease_id)
            if stored.state is State.QUEUED:
                self.arrivals.announce()
            log.info("nacked", extra={"order_id": request.order_id, "state": stored.state.value})
            return pb.NackReply(state=_STATE_TO_PB[stored.state])

        return self._serve(context, work)

    def RecordRejected(
        self, request: pb.RecordRejectedRequest, context: grpc.ServicerContext
    ) -> pb.RecordRejectedReply:
        def work() -> pb.RecordRejectedReply:
            order = checked_order(request.order)
            created = self.store.record_rejected(order.order_id, _payload(order), request.reason)
            if created:
                self._outcomes.add(1, {"state": State.REJECTED.value})
            return pb.RecordRejectedReply(created=created)

        return self._serve(context, work)

    def SetState(self, request: pb.SetStateRequest, context: grpc.ServicerContext) -> pb.SetStateReply:
        def work() -> pb.SetStateReply:
            target = _state(request.state)
            if target is State.EXECUTING:
                stored = self.store.mark_executing(request.order_id, request.lease_id)
            elif target in (State.COMMITTED, State.ABORTED):
                before = self.store.get(request.order_id)
                stored = self.store.decide(request.order_id, target, request.reason, request.total)
                self._count_outcome(before, stored)
            else:
                raise ValueError(f"SetState moves an order to EXECUTING, COMMITTED or ABORTED, not {target.value}")
            return pb.SetStateReply(state=_STATE_TO_PB[stored.state])

        return self._serve(context, work)

    def GetOrder(self, request: pb.GetOrderRequest, context: grpc.ServicerContext) -> pb.OrderRecord:
        def work() -> pb.OrderRecord:
            stored = self.store.get(request.order_id)
            if stored is None:
                raise UnknownOrder(f"no order {request.order_id!r}")
            return to_record(stored)

        return self._serve(context, work)

    def Stats(self, request: pb.StatsRequest, context: grpc.ServicerContext) -> pb.StatsReply:
        stats = self.store.stats()
        return pb.StatsReply(depth=stats.depth, leased=stats.leased, depth_max=stats.depth_max)

    def _count_outcome(self, before: StoredOrder | None, after: StoredOrder) -> None:
        if before is not None and not before.state.is_final and after.state.is_final:
            self._outcomes.add(1, {"state": after.state.value})
            log.info(
                "order finished", extra={"order_id": after.order_id, "state": after.state.value, "reason": after.reason}
            )


def _payload(order: Order) -> bytes:
    """What is stored: the order's queue form, without what the queue sets itself (enqueued_at, priority)."""
    return order_to_queue_proto(order).SerializeToString()
