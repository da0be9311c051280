"""How a flow node reaches the others: start the next service's event, report the outcome to the orchestrator.

A Protocol, so node tests can record messages; the gRPC one finds every address in FleetSettings.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

import grpc

from utils.flow.core.checkout import Service, event
from utils.flow.core.trace import EventRecord
from utils.flow.core.vclock import VectorClock
from utils.flow.outcome import FlowResult
from utils.flow.trace_wire import records_to_proto
from utils.pb.common import common_pb2
from utils.pb.fraud_detection import fraud_detection_pb2_grpc
from utils.pb.orchestrator import flow_report_pb2_grpc
from utils.pb.suggestions import suggestions_pb2_grpc
from utils.pb.transaction_verification import transaction_verification_pb2_grpc
from utils.rpc.client import call, open_channel
from utils.rpc.trust import installed_trust
from utils.settings import FleetSettings


class SendFailed(Exception):
    """The next service did not take the event (down, or the deadline passed)."""

    def __init__(self, service: str, code: str) -> None:
        super().__init__(f"{service}: {code}")
        self.service = service
        self.code = code


class FlowTransport(Protocol):
    def send_event(
        self, name: str, order_id: str, stamp: VectorClock, budget_s: float, trace: tuple[EventRecord, ...] = ()
    ) -> None:
        """Starts event `name` on its service; `stamp` is the sender's event it comes after. Raises SendFailed.

        `trace`: the sender's records of the flow so far, handed on so the reporter can send them all.
        """

    def report(self, result: FlowResult) -> None:
        """Tells the orchestrator how the flow ended. Raises SendFailed."""


_STUBS: dict[Service, Any] = {
    Service.TRANSACTION_VERIFICATION: transaction_verification_pb2_grpc.TransactionVerificationStub,
    Service.FRAUD_DETECTION: fraud_detection_pb2_grpc.FraudDetectionStub,
    Service.SUGGESTIONS: suggestions_pb2_grpc.SuggestionsStub,
    Service.ORCHESTRATOR: flow_report_pb2_grpc.FlowReportStub,
}


def service_address(settings: FleetSettings, service: Service) -> str:
    return {
        Service.TRANSACTION_VERIFICATION: settings.transaction_verification_addr,
        Service.FRAUD_DETECTION: settings.fraud_detection_addr,
        Service.SUGGESTIONS: settings.suggestions_addr,
        Service.ORCHESTRATOR: settings.orchestrator_flow_addr,
    }[service]


class GrpcFlowTransport:
    """One channel per peer service, opened on first use; every call has a deadline."""

    def __init__(self, settings: FleetSettings, rpc_timeout_s: float) -> None:
        self.settings = settings
        self.rpc_timeout_s = rpc_timeout_s
        self._stubs: dict[Service, Any] = {}
        self._channels: list[grpc.Channel] = []
        self._lock = threading.Lock()
        self._identity: str | None = None  # None: the process's own identity

    def present_as(self, identity: str) -> None:
        """The identity this node's messages carry (its service's name): set before the first send."""
        self._identity = identity

    def _stub(self, service: Service) -> Any:
        with self._lock:
            if service not in self._stubs:
                tls = installed_trust().tls.as_identity(self._identity) if self._identity else None
                channel = open_channel(service_address(self.settings, service), service.value, tls=tls)
                self._channels.append(channel)
                self._stubs[service] = _STUBS[service](channel)
            return self._stubs[service]

    def send_event(
        self, name: str, order_id: str, stamp: VectorClock, budget_s: float, trace: tuple[EventRecord, ...] = ()
    ) -> None:
        target = event(name).service
        request = common_pb2.EventRequest(
            order_id=order_id,
            clock=stamp.to_proto(),
            budget_ms=max(0, int(budget_s * 1000)),
            trace=records_to_proto(trace),
        )
        try:
            call(getattr(self._stub(target), name), request, timeout_s=self.rpc_timeout_s)
        except grpc.RpcError as error:
            raise SendFailed(target.value, error.code().name) from error

    def report(self, result: FlowResult) -> None:
        try:
            call(self._stub(Service.ORCHESTRATOR).Report, result.to_proto(), timeout_s=self.rpc_timeout_s)
        except grpc.RpcError as error:
            raise SendFailed(Service.ORCHESTRATOR.value, error.code().name) from error

    def close(self) -> None:
        with self._lock:
            for channel in self._channels:
                channel.close()
            self._channels.clear()
            self._stubs.clear()
