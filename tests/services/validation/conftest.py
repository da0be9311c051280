"""In-process validation fleet for service tests: TV, FD, S and the orchestrator's flow client on free ports.

Also recording fakes for any of them, so one real service can be driven and observed alone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest

import fraud_detection.server as fd
import suggestions.server as sg
import transaction_verification.server as tv
from orchestrator.api_models import CheckoutRequest
from orchestrator.validation_flow import ValidationFlow
from testing.local_fleet import free_port
from utils.catalog.file import load_catalog
from utils.flow.node import FlowLimits
from utils.order.order import Order
from utils.pb.common import common_pb2
from utils.pb.fraud_detection import fraud_detection_pb2_grpc
from utils.pb.orchestrator import flow_report_pb2, flow_report_pb2_grpc
from utils.pb.suggestions import suggestions_pb2_grpc
from utils.pb.transaction_verification import transaction_verification_pb2_grpc
from utils.rpc.server import GrpcService
from utils.settings import FleetSettings, RuntimeSettings

SEED_ORDER: dict[str, Any] = {
    "items": [{"name": "Clean Architecture", "quantity": 1}],
    "user": {"name": "Ada Lovelace", "contact": "ada@example.com"},
    "creditCard": {"number": "4111111111111111", "expirationDate": "12/2030", "cvv": "123"},
    "billingAddress": {"street": "1 Main St", "city": "Springfield", "state": "IL", "zip": "62701", "country": "USA"},
    "shippingMethod": "standard",
    "giftWrapping": False,
    "termsAndConditionsAccepted": True,
}


def order_of(order_id: str, body: dict[str, Any] = SEED_ORDER) -> Order:
    """The order as the gateway builds it from a checkout body: its items resolved against the catalog once."""
    return CheckoutRequest.model_validate(body).to_order(order_id, load_catalog())


RUNTIME = RuntimeSettings(shutdown_grace_s=0.2, grpc_workers_max=8)
# Generous deadlines: CI machines are shared and slow; the tests assert behaviour, never timing.
LIMITS = FlowLimits(rpc_timeout_s=5.0, sweep_interval_s=0.02)


def wait_until(condition: Callable[[], Any], timeout_s: float = 15.0, what: str = "condition") -> Any:
    """Polls `condition` until it returns something truthy, failing the test after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def free_settings() -> FleetSettings:
    def addr() -> str:
        return f"127.0.0.1:{free_port()}"

    return FleetSettings(
        transaction_verification_addr=addr(),
        fraud_detection_addr=addr(),
        suggestions_addr=addr(),
        orchestrator_flow_addr=addr(),
    )


@dataclass
class Recorder:
    """Every request a fake received, by method name."""

    calls: dict[str, list[Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, method: str, request: Any) -> None:
        with self.lock:
            self.calls.setdefault(method, []).append(request)

    def get(self, method: str) -> list[Any]:
        with self.lock:
            return list(self.calls.get(method, []))


def _fake_flow_servicer(base: type, recorder: Recorder) -> Any:
    class Fake(base):  # type: ignore[misc]
        def InitOrder(self, request: Any, context: grpc.ServicerContext) -> Any:
            recorder.add("InitOrder", request)
            return common_pb2.InitOrderResponse()

        def ClearOrders(self, request: Any, context: grpc.ServicerContext) -> Any:
            recorder.add("ClearOrders", request)
            return common_pb2.ClearOrdersResponse(
                results=[
                    common_pb2.ClearOrderResult(order_id=o.order_id, outcome=common_pb2.CLEAR_OUTCOME_CLEARED)
                    for o in request.orders
                ]
            )

    for name in ("VerifyItems", "VerifyUserData", "CheckUserData", "CheckCreditCardData", "GetSuggestions"):

        def event(self: Any, request: Any, context: grpc.ServicerContext, _name: str = name) -> Any:
            recorder.add(_name, request)
            return common_pb2.EventAck(delivery=common_pb2.DELIVERY_RUN)

        setattr(Fake, name, event)
    return Fake()


def fake_service(kind: str, listen: str, recorder: Recorder) -> GrpcService:
    """A recording stand-in: "transaction_verification", "fraud_detection", "suggestions" or "orchestrator"."""
    if kind == "orchestrator":

        class FakeReport(flow_report_pb2_grpc.FlowReportServicer):
            def Report(self, request: Any, context: grpc.ServicerContext) -> Any:
                recorder.add("Report", request)
                return flow_report_pb2.ReportAck(known=True)

        servicer: Any = FakeReport()
        register = lambda s: flow_report_pb2_grpc.add_FlowReportServicer_to_server(servicer, s)  # noqa: E731
        name = "bookstore.orchestrator.FlowReport"
    else:
        module, base, add, name = {
            "transaction_verification": (
                transaction_verification_pb2_grpc,
                "TransactionVerificationServicer",
                "add_TransactionVerificationServicer_to_server",
                "bookstore.transaction_verification.TransactionVerification",
            ),
            "fraud_detection": (
                fraud_detection_pb2_grpc,
                "FraudDetectionServicer",
                "add_FraudDetectionServicer_to_server",
                "bookstore.fraud_detection.FraudDetection",
            ),
            "suggestions": (
                suggestions_pb2_grpc,
                "SuggestionsServicer",
                "add_SuggestionsServicer_to_server",
                "bookstore.suggestions.Suggestions",
            ),
        }[kind]
        servicer = _fake_flow_servicer(getattr(module, base), recorder)
        register = lambda s: getattr(module, add)(servicer, s)  # noqa: E731
    service = GrpcService(
        f"fake-{kind}", listen, [register], [name], workers_max=4, shutdown_grace_s=0.1, identity=kind
    )
    service.start()
    return service


REAL = {
    "transaction_verification": lambda s, **kw: tv.create_service(
        s, LIMITS, s.transaction_verification_addr, RUNTIME, **kw
    ),
    "fraud_detection": lambda s, **kw: fd.create_service(s, LIMITS, s.fraud_detection_addr, RUNTIME, **kw),
    "suggestions": lambda s, **kw: sg.create_service(s, LIMITS, s.suggestions_addr, RUNTIME, **kw),
}


@dataclass
class ValidationFleet:
    settings: FleetSettings
    services: dict[str, GrpcService]
    flow: ValidationFlow

    def stop_service(self, name: str) -> None:
        self.services.pop(name).stop()


@pytest.fixture
def start_fleet() -> Iterator[Callable[..., ValidationFleet]]:
    """Starts the three real services (or `overrides`: name -> kwargs for create_service) and the flow client."""
    started: list[Any] = []

    def start(flow_timeout_s: float = 15.0, **overrides: dict[str, Any]) -> ValidationFleet:
        settings = free_settings()
        services = {}
        for name in ("suggestions", "fraud_detection", "transaction_verification"):
            service = REAL[name](settings, **overrides.get(name, {}))
            service.start()
            started.append(service)
            services[name] = service
        flow = ValidationFlow(settings, flow_timeout_s=flow_timeout_s, rpc_timeout_s=5.0)
        flow.start()
        started.append(flow)
        return ValidationFleet(settings, services, flow)

    yield start
    for item in reversed(started):
        item.stop()
