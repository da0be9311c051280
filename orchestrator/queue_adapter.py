"""The checkout's port to the order queue over gRPC: the order changes form here (utils/order/wire.py), and
status codes become checkout_errors (RESOURCE_EXHAUSTED → QueueFull, anything else → DependencyUnavailable).
An Enqueue whose outcome is unknown (its answer lost) is sent again with the same order id before "not placed".

Wraps any client with the order queue's proto API (order_queue.client.OrderQueueClient, or a test fake).
"""

from __future__ import annotations

import logging
from typing import Protocol

import grpc

from orchestrator.checkout import Enqueued
from orchestrator.checkout_errors import DependencyUnavailable, QueueFull
from utils.order.order import Order
from utils.order.wire import order_to_queue_proto
from utils.pb.order_queue import order_queue_pb2 as queue_pb
from utils.rpc.deadline import reset_deadline, set_deadline_in

log = logging.getLogger("orchestrator.checkout")
SERVICE = "order_queue"
# Codes after which the queue may hold the order although no answer came (the call reached it, or may have).
# Answering "not placed" then lets the shopper's retry, whose idempotency key was released, make a second order.
OUTCOME_UNKNOWN = frozenset(
    {grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNKNOWN, grpc.StatusCode.CANCELLED, grpc.StatusCode.INTERNAL}
)
CONFIRMS_MAX = 2  # re-sends of an Enqueue of unknown outcome (same order id: the queue answers created=False)
CONFIRM_BUDGET_S = 2.0  # each re-send's own deadline: the request's budget may be what ran out


class QueueRpc(Protocol):
    def enqueue(self, order: queue_pb.Order) -> queue_pb.EnqueueReply: ...
    def record_rejected(self, order: queue_pb.Order, reason: str) -> bool: ...


def _code(error: grpc.RpcError) -> grpc.StatusCode | None:
    code = getattr(error, "code", None)
    return code() if callable(code) else None


class QueueAdapter:
    def __init__(self, rpc: QueueRpc) -> None:
        self._rpc = rpc

    def enqueue(self, order: Order) -> Enqueued:
        wire = order_to_queue_proto(order)
        try:
            reply = self._rpc.enqueue(wire)
        except grpc.RpcError as error:
            code = _code(error)
            if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
                raise QueueFull("the order queue is full") from None
            log.warning("enqueue failed", extra={"order_id": order.order_id, "code": code.name if code else "?"})
            if code not in OUTCOME_UNKNOWN:
                raise DependencyUnavailable(SERVICE, code.name if code else "") from None
            reply = self._confirm(order.order_id, wire, code)
        return Enqueued(created=reply.created, priority=reply.order.priority, depth=reply.depth)

    def _confirm(self, order_id: str, wire: queue_pb.Order, first: grpc.StatusCode) -> queue_pb.EnqueueReply:
        """The same Enqueue again, each with a deadline of its own, until the queue answers or the budget is spent.
        An answer settles it (created=False: the lost attempt had queued it); none leaves "not placed" as before."""
        code: grpc.StatusCode | None = first
        for _ in range(CONFIRMS_MAX):
            token = set_deadline_in(CONFIRM_BUDGET_S)
            try:
                reply = self._rpc.enqueue(wire)
            except grpc.RpcError as error:
                code = _code(error)
                if code == grpc.StatusCode.RESOURCE_EXHAUSTED:  # full refuses new ids only: it was not queued
                    raise QueueFull("the order queue is full") from None
                continue
            finally:
                reset_deadline(token)
            log.info("enqueue of unknown outcome confirmed", extra={"order_id": order_id, "created": reply.created})
            return reply
        raise DependencyUnavailable(SERVICE, code.name if code else "")

    def record_rejected(self, order: Order, reason: str) -> bool:
        try:
            return self._rpc.record_rejected(order_to_queue_proto(order), reason)
        except grpc.RpcError as error:
            code = _code(error)
            raise DependencyUnavailable(SERVICE, code.name if code else "") from None
