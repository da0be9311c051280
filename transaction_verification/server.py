"""The transaction_verification servicer: events a VerifyItems, b VerifyUserData, c VerifyCreditCardFormat.

Each event maps the order to a pure rule in rules.py; the flow node orders them and hands on to fraud_detection.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import grpc

from transaction_verification.core import rules
from utils.flow.core.checkout import Service
from utils.flow.node import EventHandler, FlowLimits, FlowNode
from utils.flow.outcome import EventResult
from utils.flow.service import flow_service
from utils.flow.servicer import FlowServicer
from utils.flow.transport import FlowTransport, GrpcFlowTransport
from utils.order.order import Order
from utils.pb.common import common_pb2
from utils.pb.transaction_verification import transaction_verification_pb2, transaction_verification_pb2_grpc
from utils.rpc.server import GrpcService
from utils.settings import FleetSettings, RuntimeSettings
from utils.telemetry import meter

SERVICE_NAME = transaction_verification_pb2.DESCRIPTOR.services_by_name["TransactionVerification"].full_name


def _result(reasons: tuple[str, ...]) -> EventResult:
    return EventResult.rejected(*reasons) if reasons else EventResult.ok()


def handlers(today: Callable[[], date] = date.today) -> dict[str, EventHandler]:
    failures = meter("transaction_verification").create_counter(
        "validation_failures", unit="1", description="orders rejected by transaction verification, by event"
    )

    def counted(event: str, check: Callable[[Order], tuple[str, ...]]) -> EventHandler:
        def run(_order_id: str, order: Order) -> EventResult:
            result = _result(check(order))
            if not result.passed:
                failures.add(1, {"event": event})
            return result

        return run

    return {
        "VerifyItems": counted("VerifyItems", lambda order: rules.verify_items(order.items)),
        "VerifyUserData": counted("VerifyUserData", rules.verify_user_data),
        "VerifyCreditCardFormat": counted(
            "VerifyCreditCardFormat", lambda order: rules.verify_card(order.credit_card, today())
        ),
    }


class TransactionVerificationServicer(FlowServicer, transaction_verification_pb2_grpc.TransactionVerificationServicer):
    def VerifyItems(self, request: common_pb2.EventRequest, context: grpc.ServicerContext) -> common_pb2.EventAck:
        return self.handle_event("VerifyItems", request, context)

    def VerifyUserData(self, request: common_pb2.EventRequest, context: grpc.ServicerContext) -> common_pb2.EventAck:
        return self.handle_event("VerifyUserData", request, context)


def create_node(transport: FlowTransport, limits: FlowLimits, today: Callable[[], date] = date.today) -> FlowNode:
    # No catalog here: the items arrive resolved by the gateway's one lookup.
    return FlowNode(Service.TRANSACTION_VERIFICATION, handlers(today), transport, limits)


def create_service(
    fleet: FleetSettings,
    limits: FlowLimits,
    listen: str,
    runtime: RuntimeSettings | None = None,
    today: Callable[[], date] = date.today,
) -> GrpcService:
    transport = GrpcFlowTransport(fleet, limits.rpc_timeout_s)
    servicer = TransactionVerificationServicer(create_node(transport, limits, today=today))
    return flow_service(
        servicer.node,
        transport,
        lambda server: transaction_verification_pb2_grpc.add_TransactionVerificationServicer_to_server(
            servicer, server
        ),
        SERVICE_NAME,
        listen,
        runtime,
    )
