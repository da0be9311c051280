"""The checkout's port to the order queue over gRPC: the order changes form here (utils/order/wire.py), and
status codes become checkout_errors (RESOURCE_EXHAUSTED → QueueFull, anything else → DependencyUnavailable).

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

log = logging.getLogger("orchestrator.checkout")
SERVICE = "order_queue"


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
        try:
            reply = self._rpc.enqueue(order_to_queue_proto(order))
        except grpc.RpcError as error:
            code = _code(error)
            if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
                raise QueueFull("the order queue is full") from None
            log.warning("enqueue failed", extra={"order_id": order.order_id, "code": code.name if code else "?"})
            raise DependencyUnavailable(SERVICE, code.name if code else "") from None
        return Enqueued(created=reply.created, priority=reply.order.priority, depth=reply.depth)

    def record_rejected(self, order: Order, reason: str) -> bool:
        try:
            return self._rpc.record_rejected(order_to_queue_proto(order), reason)
        except grpc.RpcError as error:
            code = _code(error)
            raise DependencyUnavailable(SERVICE, code.name if code else "") from None
