"""gRPC interceptors: correlation id in and out, one structured log line and metrics per call.

The server side also records the caller's deadline so outgoing calls inherit the remaining budget.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import grpc

from utils.rpc import correlation, deadline
from utils.telemetry import meter

log = logging.getLogger("rpc")
# Seconds, from sub-millisecond local calls to multi-second deadlines (OTel's defaults assume milliseconds).
LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Enum.name is a descriptor lookup each time; every call labels its metrics with its code's name.
_CODE_NAMES = {code: code.name for code in grpc.StatusCode}


class _Instruments:
    def __init__(self) -> None:
        m = meter("utils.rpc")
        self.calls = m.create_counter(
            "rpc_server_calls", unit="1", description="gRPC calls served, by method and status code"
        )
        self.latency = m.create_histogram(
            "rpc_server_duration",
            unit="s",
            description="gRPC call latency",
            explicit_bucket_boundaries_advisory=LATENCY_BUCKETS_S,
        )
        self.in_flight = m.create_up_down_counter(
            "rpc_server_in_flight", unit="1", description="gRPC calls being served"
        )
        self.client_calls = m.create_counter(
            "rpc_client_calls", unit="1", description="gRPC calls made, by method and status code"
        )


_instruments: _Instruments | None = None


def _get_instruments() -> _Instruments:
    global _instruments
    if _instruments is None:
        _instruments = _Instruments()
    return _instruments


def _metadata_value(context: grpc.ServicerContext, key: str) -> str | None:
    for item_key, item_value in context.invocation_metadata() or ():
        if item_key == key:
            return str(item_value)
    return None


# grpc's interceptor bases are generic only in their type stubs; subscripting them fails at run time.
class ServerInterceptor(grpc.ServerInterceptor):  # type: ignore[type-arg]
    """Wraps unary-unary handlers: sets the correlation id and deadline, then logs and counts the call."""

    def __init__(self, service: str) -> None:
        self.service = service

    def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Any], handler_call_details: grpc.HandlerCallDetails
    ) -> Any:
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        method = handler_call_details.method
        inner = handler.unary_unary
        quiet = (
            method.startswith("/grpc.health.") or method.startswith("/grpc.reflection.") or "/bookstore.raft." in method
        )

        def wrapped(request: Any, context: grpc.ServicerContext) -> Any:
            return self._serve(inner, request, context, method, quiet)

        return grpc.unary_unary_rpc_method_handler(
            wrapped, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer
        )

    def _serve(
        self,
        inner: Callable[[Any, grpc.ServicerContext], Any],
        request: Any,
        context: grpc.ServicerContext,
        method: str,
        quiet: bool,
    ) -> Any:
        instruments = _get_instruments()
        cid_token = correlation.set_correlation_id(
            correlation.sanitize(_metadata_value(context, correlation.METADATA_KEY))
        )
        deadline_token = deadline.set_deadline_in(context.time_remaining())
        attributes = {"service": self.service, "method": method}
        instruments.in_flight.add(1, attributes)
        started = time.perf_counter()
        code = grpc.StatusCode.OK
        try:
            response = inner(request, context)
            code = _code_of(context) or grpc.StatusCode.OK  # set by context.set_code without raising
            return response
        except Exception:
            # context.abort raises after setting the code; anything else is an unexpected error.
            code = _code_of(context) or grpc.StatusCode.UNKNOWN
            if code == grpc.StatusCode.UNKNOWN:
                log.exception("unhandled error in handler", extra={"method": method})
            raise
        finally:
            elapsed_s = time.perf_counter() - started
            instruments.in_flight.add(-1, attributes)
            instruments.calls.add(1, {**attributes, "code": _CODE_NAMES[code]})
            instruments.latency.record(elapsed_s, attributes)
            if not quiet or code != grpc.StatusCode.OK:
                log.info("rpc", extra={"method": method, "code": _CODE_NAMES[code], "ms": round(elapsed_s * 1000, 2)})
            deadline.reset_deadline(deadline_token)
            correlation.reset_correlation_id(cid_token)


def _code_of(context: grpc.ServicerContext) -> grpc.StatusCode | None:
    """The status the handler set (grpc's context has code(); its type stubs do not say so)."""
    code = getattr(context, "code", None)
    return code() if callable(code) else None


class _ClientCallDetails(grpc.ClientCallDetails):
    def __init__(self, details: grpc.ClientCallDetails, metadata: list[tuple[str, str | bytes]]) -> None:
        self.method = details.method
        self.timeout = details.timeout
        self.metadata = tuple(metadata)
        self.credentials = details.credentials
        self.wait_for_ready = getattr(details, "wait_for_ready", None)
        self.compression = getattr(details, "compression", None)


class ClientInterceptor(grpc.UnaryUnaryClientInterceptor):  # type: ignore[type-arg]  # generic in stubs only
    """Adds the current correlation id to every outgoing call and counts the outcome."""

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: grpc.ClientCallDetails, request: Any
    ) -> Any:
        metadata: list[tuple[str, str | bytes]] = [
            m for m in (client_call_details.metadata or []) if m[0] != correlation.METADATA_KEY
        ]
        cid = correlation.current_correlation_id()
        if cid:
            metadata.append((correlation.METADATA_KEY, cid))
        outcome = continuation(_ClientCallDetails(client_call_details, metadata), request)
        method = client_call_details.method
        if isinstance(method, bytes):
            method = method.decode()
        if "/bookstore.raft." not in method:
            counter = _get_instruments().client_calls
            # A callback, not outcome.code(): asking for the code would block a caller's .future().
            outcome.add_done_callback(lambda call: counter.add(1, {"method": method, "code": _CODE_NAMES[call.code()]}))
        return outcome
