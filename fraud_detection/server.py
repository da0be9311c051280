"""The fraud_detection servicer: events d CheckUserData and e CheckCreditCardData.

d runs the buyer rules; e runs card velocity, the order-size rules, then the assessor seam. The rule that
fired is the rejection reason and a metric label; only a card's last four digits are ever logged.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

import grpc

from fraud_detection.core import rules
from fraud_detection.core.assessor import AssessedItem, FraudAssessor, FraudView, RulesOnlyAssessor
from fraud_detection.core.velocity import CardVelocity, card_fingerprint
from fraud_detection.settings import FraudSettings
from utils.flow.core.checkout import Service
from utils.flow.node import EventHandler, FlowLimits, FlowNode
from utils.flow.outcome import EventResult
from utils.flow.service import flow_service
from utils.flow.servicer import FlowServicer
from utils.flow.transport import FlowTransport, GrpcFlowTransport
from utils.order.order import Order, from_cents
from utils.pb.common import common_pb2
from utils.pb.fraud_detection import fraud_detection_pb2, fraud_detection_pb2_grpc
from utils.rpc.server import GrpcService
from utils.settings import FleetSettings, RuntimeSettings
from utils.telemetry import meter

log = logging.getLogger(__name__)
SERVICE_NAME = fraud_detection_pb2.DESCRIPTOR.services_by_name["FraudDetection"].full_name


class FraudChecks:
    """The two events' logic with their one piece of state, the card velocity memory (behind a lock)."""

    def __init__(
        self,
        settings: FraudSettings,
        assessor: FraudAssessor,
        fingerprint_key: bytes,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = settings.limits()
        self.assessor = assessor
        self._key = fingerprint_key
        self._now = monotonic
        self._velocity = CardVelocity(
            uses_max=settings.card_uses_max, window_s=settings.card_window_s, cards_max=settings.cards_max
        )
        self._lock = threading.Lock()
        self._hits = meter("fraud_detection").create_counter(
            "fraud_rule_hits", unit="1", description="orders rejected as fraud, by rule"
        )

    def _rejected(self, order_id: str, order: Order, hit: rules.RuleHit) -> EventResult:
        self._hits.add(1, {"rule": hit.rule})
        log.info(
            "fraud rule hit", extra={"order_id": order_id, "rule": hit.rule, "card_last4": order.credit_card.last4}
        )
        return EventResult.rejected(hit.reason)

    def check_user_data(self, order_id: str, order: Order) -> EventResult:
        hit = rules.check_user_data(order.user, order.billing_address, self.limits)
        return self._rejected(order_id, order, hit) if hit else EventResult.ok()

    def check_credit_card_data(self, order_id: str, order: Order) -> EventResult:
        digits = "".join(ch for ch in order.credit_card.number if ch.isdigit())
        fingerprint = card_fingerprint(digits, self._key)
        with self._lock:
            now = self._now()
            too_fast = self._velocity.record_use(fingerprint, now)
            uses = self._velocity.uses_in_window(fingerprint, now)
        if too_fast:
            return self._rejected(
                order_id,
                order,
                rules.RuleHit("card_velocity", "Fraud check failed: too many orders with this card in a short time"),
            )
        hit = rules.absurd_order(order.items, self.limits)
        if hit:
            return self._rejected(order_id, order, hit)
        assessment = self.assessor.assess(self._view(order, uses))
        if assessment.fraudulent:
            return self._rejected(
                order_id, order, rules.RuleHit(f"assessor_{assessment.source.split(':')[0]}", assessment.reason)
            )
        return EventResult.ok()

    def _view(self, order: Order, uses: int) -> FraudView:
        items = tuple(
            AssessedItem(item.title, item.quantity, from_cents(item.unit_price_cents))
            for item in order.items
            if item.found
        )
        return FraudView(
            items=items,
            total=rules.order_total(order.items),
            email_domain=rules.email_domain(order.user.contact),
            billing_country=order.billing_address.country,
            shipping_method=order.shipping_method,
            card_last4=order.credit_card.last4,
            card_uses_in_window=uses,
        )

    def handlers(self) -> dict[str, EventHandler]:
        return {"CheckUserData": self.check_user_data, "CheckCreditCardData": self.check_credit_card_data}


class FraudDetectionServicer(FlowServicer, fraud_detection_pb2_grpc.FraudDetectionServicer):
    def CheckUserData(self, request: common_pb2.EventRequest, context: grpc.ServicerContext) -> common_pb2.EventAck:
        return self.handle_event("CheckUserData", request, context)

    def CheckCreditCardData(
        self, request: common_pb2.EventRequest, context: grpc.ServicerContext
    ) -> common_pb2.EventAck:
        return self.handle_event("CheckCreditCardData", request, context)


def create_node(
    transport: FlowTransport,
    limits: FlowLimits,
    settings: FraudSettings | None = None,
    assessor: FraudAssessor | None = None,
) -> FlowNode:
    # A fresh key per process: fingerprints cannot be matched against any other list, even our own later.
    checks = FraudChecks(settings or FraudSettings(), assessor or RulesOnlyAssessor(), os.urandom(32))
    return FlowNode(Service.FRAUD_DETECTION, checks.handlers(), transport, limits)


def create_service(
    fleet: FleetSettings,
    limits: FlowLimits,
    listen: str,
    runtime: RuntimeSettings | None = None,
    settings: FraudSettings | None = None,
    assessor: FraudAssessor | None = None,
) -> GrpcService:
    transport = GrpcFlowTransport(fleet, limits.rpc_timeout_s)
    # The servicer never sees a CVV even if a caller sends one: fraud checks do not need it.
    servicer = FraudDetectionServicer(create_node(transport, limits, settings, assessor), view=Order.without_cvv)
    return flow_service(
        servicer.node,
        transport,
        lambda server: fraud_detection_pb2_grpc.add_FraudDetectionServicer_to_server(servicer, server),
        SERVICE_NAME,
        listen,
        runtime,
    )
