"""GET /orders/{orderId}: an order's life from the queue's record — QUEUED → EXECUTING → COMMITTED | ABORTED,
or REJECTED at validation.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import grpc
from flask import Blueprint

from orchestrator.dependencies import deps
from orchestrator.problems import Problem
from utils.pb.order_queue import order_queue_pb2 as queue_pb

blueprint = Blueprint("orders", __name__)
ORDER_ID_CHARS_MAX = 128
# LEASED is the queue's own detail (a worker took it, has not started): to the shopper it is still queued.
_STATES = {
    queue_pb.QUEUED: "QUEUED",
    queue_pb.LEASED: "QUEUED",
    queue_pb.EXECUTING: "EXECUTING",
    queue_pb.COMMITTED: "COMMITTED",
    queue_pb.ABORTED: "ABORTED",
    queue_pb.REJECTED: "REJECTED",
}


@blueprint.get("/orders/<order_id>")
def get_order(order_id: str) -> dict[str, Any]:
    if len(order_id) > ORDER_ID_CHARS_MAX:
        raise _not_found(order_id[:16] + "…")
    try:
        record = deps().queue.get_order(order_id)
    except grpc.RpcError:
        raise Problem(
            503,
            "DEPENDENCY_UNAVAILABLE",
            "Service Unavailable",
            "order_queue is not available",
            headers={"Retry-After": "1"},
        ) from None
    if record is None:
        raise _not_found(order_id)
    return order_json(record)


def order_json(record: queue_pb.OrderRecord) -> dict[str, Any]:
    return {
        "orderId": record.order.order_id,
        "state": _STATES.get(record.state, "QUEUED"),
        "reason": record.reason,
        "items": [{"bookId": i.book_id, "title": i.title, "quantity": i.quantity} for i in record.order.items],
        "total": record.total or None,
        "updatedAt": _iso(record.updated_at),
    }


def _iso(seconds: float) -> str:
    moment = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _not_found(order_id: str) -> Problem:
    return Problem(404, "ORDER_NOT_FOUND", "Not Found", f"no order with id {order_id!r}")
