"""The gRPC methods every validation service shares: InitOrder, ClearOrders, and its flow events.

Parse → FlowNode → reply; the node's errors become status codes (full → RESOURCE_EXHAUSTED, bad → INVALID_ARGUMENT).
"""

from __future__ import annotations

from collections.abc import Callable

import grpc

from utils.flow.core.causal import Delivery, GateFull
from utils.flow.core.checkout import INIT
from utils.flow.core.clear_batch import CLEAR_BATCH_ORDERS_MAX
from utils.flow.core.order_table import ClearOutcome, OrderConflict, OrderTableFull
from utils.flow.core.vclock import VectorClock
from utils.flow.node import FlowNode
from utils.flow.trace_wire import record_to_proto, records_from_proto
from utils.order.order import Order
from utils.order.wire import order_from_proto
from utils.pb.common import common_pb2
from utils.rpc import correlation
from utils.rpc.status import abort as _abort

ORDER_ID_LENGTH_MAX = 128
BUDGET_MS_MAX = 60_000  # a caller cannot make a service wait longer than this for an event's predecessors

_DELIVERY = {
    Delivery.RUN: common_pb2.DELIVERY_RUN,
    Delivery.HOLD: common_pb2.DELIVERY_HELD,
    Delivery.DUPLICATE: common_pb2.DELIVERY_DUPLICATE,
    None: common_pb2.DELIVERY_STOPPED,
}
_CLEAR = {
    ClearOutcome.CLEARED: common_pb2.CLEAR_OUTCOME_CLEARED,
    ClearOutcome.CONFLICT: common_pb2.CLEAR_OUTCOME_CONFLICT,
    ClearOutcome.UNKNOWN_ORDER: common_pb2.CLEAR_OUTCOME_UNKNOWN_ORDER,
}


def _order_id(value: str, context: grpc.ServicerContext) -> str:
    if not value or len(value) > ORDER_ID_LENGTH_MAX or not value.isprintable():
        _abort(
            context, grpc.StatusCode.INVALID_ARGUMENT, f"order_id must be 1..{ORDER_ID_LENGTH_MAX} printable characters"
        )
    return value


def _budget_s(budget_ms: int, context: grpc.ServicerContext) -> float:
    if budget_ms < 0:
        _abort(context, grpc.StatusCode.INVALID_ARGUMENT, "budget_ms must not be negative")
    return min(budget_ms, BUDGET_MS_MAX) / 1000


def _clock(message: common_pb2.VectorClock, context: grpc.ServicerContext) -> VectorClock:
    try:
        return VectorClock.from_proto(message)
    except ValueError as error:
        _abort(context, grpc.StatusCode.INVALID_ARGUMENT, f"bad vector clock: {error}")


class FlowServicer:
    """Mixed into each service's generated servicer; `view` keeps only what the service may see."""

    def __init__(self, node: FlowNode, view: Callable[[Order], Order] = lambda order: order) -> None:
        self.node = node
        self.view = view

    def InitOrder(
        self, request: common_pb2.InitOrderRequest, context: grpc.ServicerContext
    ) -> common_pb2.InitOrderResponse:
        order_id = _order_id(request.order_id, context)
        try:
            order = self.view(order_from_proto(request.order, order_id))
            clock = self.node.init_order(order_id, order, _budget_s(request.budget_ms, context))
        except (OrderTableFull, GateFull) as full:
            _abort(context, grpc.StatusCode.RESOURCE_EXHAUSTED, str(full))
        except OrderConflict as conflict:
            _abort(context, grpc.StatusCode.ALREADY_EXISTS, str(conflict))
        except ValueError as error:
            _abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(error))
        own = [r for r in self.node.trace(order_id) if r.event == INIT and r.service == self.node.service.value]
        return common_pb2.InitOrderResponse(clock=clock.to_proto(), record=record_to_proto(own[0]) if own else None)

    def handle_event(
        self, name: str, request: common_pb2.EventRequest, context: grpc.ServicerContext
    ) -> common_pb2.EventAck:
        order_id = _order_id(request.order_id, context)
        stamp = _clock(request.clock, context)
        trace, _malformed = records_from_proto(request.trace)  # a bad record costs the drawing, never the flow
        try:
            delivery = self.node.receive(name, order_id, stamp, _budget_s(request.budget_ms, context), trace)
        except GateFull as full:
            _abort(context, grpc.StatusCode.RESOURCE_EXHAUSTED, str(full))
        return common_pb2.EventAck(delivery=_DELIVERY[delivery])

    def ClearOrders(
        self, request: common_pb2.ClearOrdersRequest, context: grpc.ServicerContext
    ) -> common_pb2.ClearOrdersResponse:
        """The broadcast in batches: each order judged alone (cleared when the service's clock is <= its final
        clock). The whole request is checked before any order is touched, so a malformed one changes nothing."""
        if len(request.orders) > CLEAR_BATCH_ORDERS_MAX:
            _abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"at most {CLEAR_BATCH_ORDERS_MAX} orders per ClearOrders, not {len(request.orders)}",
            )
        finals = [
            (
                _order_id(item.order_id, context),
                _clock(item.final_clock, context),
                correlation.sanitize(item.correlation_id) if item.correlation_id else "",
            )
            for item in request.orders
        ]
        judged = self.node.clear_many(finals)
        return common_pb2.ClearOrdersResponse(
            results=[
                common_pb2.ClearOrderResult(
                    order_id=order_id, outcome=_CLEAR[outcome], clock=(clock or VectorClock()).to_proto()
                )
                for (order_id, _final, _cid), (outcome, clock) in zip(finals, judged, strict=True)
            ]
        )
