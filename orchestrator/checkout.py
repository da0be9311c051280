"""One checkout, start to answer: run the validation flow, then enqueue the approved order (or record the
rejected one) and build the reply of docs/design.md §7.

The flow and the queue are injected, so API tests run with fakes and the app with the real ones.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

import grpc

from orchestrator.api_models import CheckoutRequest
from orchestrator.payments import NoTokenizer, Tokenizer
from orchestrator.problems import Problem
from orchestrator.validation_flow import DependencyUnavailable, ValidationOutcome
from utils.catalog import Catalog
from utils.pb.order_queue import order_queue_pb2 as queue_pb
from utils.rpc.correlation import current_correlation_id

log = logging.getLogger("orchestrator.checkout")
APPROVED_MESSAGE = "Order approved and queued for processing"


class Flow(Protocol):
    def validate(self, order_id: str, order: dict[str, Any]) -> ValidationOutcome: ...
    def broadcast_clear(self, order_id: str, final_clock: dict[str, int]) -> None: ...
    def readiness(self) -> dict[str, bool]: ...


class Queue(Protocol):
    def enqueue(self, order: queue_pb.Order) -> queue_pb.EnqueueReply: ...
    def record_rejected(self, order: queue_pb.Order, reason: str) -> bool: ...


class Outcome(Enum):
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class CheckoutReply:
    outcome: Outcome
    body: dict[str, Any]


def new_order_id() -> str:
    return uuid.uuid4().hex


class CheckoutService:
    def __init__(self, flow: Flow, queue: Queue, catalog: Catalog,
                 make_order_id: Callable[[], str] = new_order_id, tokenizer: Tokenizer = NoTokenizer()) -> None:
        self.flow = flow
        self.queue = queue
        self.catalog = catalog
        self.make_order_id = make_order_id
        self.tokenizer = tokenizer

    def checkout(self, request: CheckoutRequest) -> CheckoutReply:
        order_id = self.make_order_id()
        try:
            outcome = self.flow.validate(order_id, request.to_flow_order())
        except DependencyUnavailable as error:
            raise Problem(503, "DEPENDENCY_UNAVAILABLE", "Service Unavailable",
                          f"{error.service} is not available; the order was not placed, try again",
                          headers={"Retry-After": "1"}) from None
        try:
            if outcome.approved:
                order = self.to_queue_order(order_id, request)
                # Issue 5: the queue holds a payment token and the last four, never the card number.
                card = request.creditCard
                order.payment_token, order.card_last4 = self.tokenizer.tokenize(
                    (card.number or "") if card else "", (card.expirationDate or "") if card else "")
                self._enqueue(order)
                return CheckoutReply(Outcome.APPROVED, approved_body(order_id, outcome))
            self._record_rejected(self.to_queue_order(order_id, request), outcome.reasons)
            return CheckoutReply(Outcome.REJECTED, rejected_body(order_id, outcome))
        finally:
            # Each validation service forgets the order only if its clock is <= the final one (docs/design.md §3.4).
            self.flow.broadcast_clear(order_id, outcome.final_clock)

    def to_queue_order(self, order_id: str, request: CheckoutRequest) -> queue_pb.Order:
        """The order as the queue keeps it: items resolved in the catalog, the card's last four only."""
        items = []
        for item in request.items or []:
            book = self.catalog.find(book_id=item.bookId, title=item.name)
            items.append(queue_pb.OrderItem(book_id=book.id if book else item.bookId or "",
                                            title=book.title if book else item.name or "",
                                            quantity=item.quantity))
        user, flow_order = request.user, request.to_flow_order()
        return queue_pb.Order(order_id=order_id, items=items,
                              user_name=(user.name or "") if user else "",
                              user_contact=(user.contact or "") if user else "",
                              shipping_method=flow_order["shippingMethod"],
                              gift_wrapping=flow_order["giftWrapping"],
                              billing_country=flow_order["billingAddress"]["country"],
                              card_last4=request.creditCard.last4() if request.creditCard else "",
                              correlation_id=current_correlation_id())

    def _enqueue(self, order: queue_pb.Order) -> None:
        try:
            reply = self.queue.enqueue(order)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                raise Problem(503, "QUEUE_FULL", "Service Unavailable",
                              "the order queue is full; the order was not placed, try again later",
                              headers={"Retry-After": "5"}) from None
            log.warning("enqueue failed", extra={"order_id": order.order_id, "code": error.code().name})
            raise Problem(503, "DEPENDENCY_UNAVAILABLE", "Service Unavailable",
                          "order_queue is not available; the order was not placed, try again",
                          headers={"Retry-After": "1"}) from None
        log.info("order queued", extra={"order_id": order.order_id, "priority": reply.order.priority,
                                        "depth": reply.depth})

    def _record_rejected(self, order: queue_pb.Order, reasons: tuple[str, ...]) -> None:
        """Best effort: the shopper still gets the verdict if the queue cannot record it."""
        try:
            self.queue.record_rejected(order, "; ".join(reasons))
        except grpc.RpcError as error:
            log.warning("could not record a rejected order", extra={"order_id": order.order_id,
                                                                    "code": error.code().name})


def approved_body(order_id: str, outcome: ValidationOutcome) -> dict[str, Any]:
    return {"orderId": order_id, "status": "Order Approved", "message": APPROVED_MESSAGE, "reasons": [],
            "suggestedBooks": [{"bookId": s.book_id, "title": s.title, "author": s.author}
                               for s in outcome.suggestions],
            "finalVectorClock": dict(sorted(outcome.final_clock.items()))}


def rejected_body(order_id: str, outcome: ValidationOutcome) -> dict[str, Any]:
    reasons = list(outcome.reasons) or ["Order rejected"]
    return {"orderId": order_id, "status": "Order Rejected", "message": "; ".join(reasons), "reasons": reasons,
            "suggestedBooks": [], "finalVectorClock": dict(sorted(outcome.final_clock.items()))}
