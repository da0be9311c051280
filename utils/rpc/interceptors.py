"""gRPC interceptors: correlation id in and out, one structured log line and metrics per call.

The server side also records the caller's deadline so outgoing calls inherit the remaining budget.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import grpc

from utils.rpc import correlation, deadline
from utils.rpc.call_counts import CallCounts
from utils.telemetry import meter

log = logging.getLogger("rpc")
# Seconds, from sub-millisecond local calls to multi-second deadlines (OTel's defaults assume milliseconds).
LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Enum.name is a descriptor lookup each time; every call labels its metrics with its code's name.
_CODE_NAMES = {code: code.name for code in grpc.StatusCode}


class _Instruments:
    """The calls and in-flight counts are summed in Python and read by OTel at collection (utils/rpc/call_counts.py);
    only the latency histogram is an OTel measurement per call."""

    def __init__(self) -> None:
        m = meter("utils.rpc")
        self.calls = CallCounts()
        m.create_observable_counter(
            "rpc_server_calls",
            callbacks=[self.calls.observe],
            unit="1",
            description="gRPC calls served, by method and status code",
        )
        self.latency = m.create_histogram(
            "rpc_server_duration",
            unit="s",
            description="gRPC call latency",
            explicit_bucket_boundaries_advisory=LATENCY_BUCKETS_S,
        )
        self.in_flight = CallCounts()
        m.create_observable_up_down_counter(
            "rpc_server_in_flight", callbacks=[self.in_flight.observe], unit="1", description="gRPC calls being served"
        )
        self.client_calls = CallCounts()
        m.create_observable_counter(
            "rpc_client_calls",
            callbacks=[self.client_calls.observe],
            unit="1",
            description="gRPC calls made, by method and status code",
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
    """Wraps unary-unary handlers: sets the correlation id and deadline, then logs and counts the call.

    grpc asks every interceptor for the handler on every call; the wrapped handler and the metric attributes are
    made once per method and kept (issue 14: per-call cost). Only methods the server has a handler for are kept,
    so the cache is bounded by the server's own API, whatever names callers send.
    """

    def __init__(self, service: str) -> None:
        self.service = service
        self._handlers: dict[str, Any] = {}
        self._lock = threading.Lock()

    def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Any], handler_call_details: grpc.HandlerCallDetails
    ) -> Any:
        method = handler_call_details.method
        cached = self._handlers.get(method)
        if cached is not None:
            return cached
        handler = continuation(handler_call_details)
        if handler is None:
            return None  # unknown method: grpc answers UNIMPLEMENTED; nothing is kept for it
        wrapped = self._wrap(method, handler)
        with self._lock:
            return self._handlers.setdefault(method, wrapped)

    def _wrap(self, method: str, handler: Any) -> Any:
        if handler.unary_unary is None:
            return handler
        inner = handler.unary_unary
        served = _ServedMethod(self.service, method)

        def wrapped(request: Any, context: grpc.ServicerContext) -> Any:
            return _serve(inner, request, context, served)

        return grpc.unary_unary_rpc_method_handler(
            wrapped, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer
        )


class _ServedMethod:
    """What the interceptor needs of one method, built once: its name, whether it is quiet, its metric attributes."""

    __slots__ = ("attributes", "by_code", "method", "quiet")

    def __init__(self, service: str, method: str) -> None:
        self.method = method
        # Health, reflection and Raft's own traffic are many and uninteresting: logged only when they fail.
        self.quiet = (
            method.startswith("/grpc.health.") or method.startswith("/grpc.reflection.") or "/bookstore.raft." in method
        )
        self.attributes = {"service": service, "method": method}
        self.by_code = {code: {**self.attributes, "code": name} for code, name in _CODE_NAMES.items()}


def _serve(
    inner: Callable[[Any, grpc.ServicerContext], Any],
    request: Any,
    context: grpc.ServicerContext,
    served: _ServedMethod,
) -> Any:
    instruments = _get_instruments()
    cid_token = correlation.set_correlation_id(correlation.sanitize(_metadata_value(context, correlation.METADATA_KEY)))
    deadline_token = deadline.set_deadline_in(context.time_remaining())
    instruments.in_flight.add(1, served.attributes)
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
            log.exception("unhandled error in handler", extra={"method": served.method})
        raise
    finally:
        elapsed_s = time.perf_counter() - started
        instruments.in_flight.add(-1, served.attributes)
        instruments.calls.add(1, served.by_code[code])
        instruments.latency.record(elapsed_s, served.attributes)
        if not served.quiet or code != grpc.StatusCode.OK:
            log.info(
                "rpc", extra={"method": served.method, "code": _CODE_NAMES[code], "ms": round(elapsed_s * 1000, 2)}
            )
        deadline.reset_deadline(deadline_token)
        correlation.reset_correlation_id(cid_token)


def _code_of(context: grpc.ServicerContext) -> grpc.StatusCode | None:
    """The status the handler set (grpc's context has code(); its type stubs do not say so)."""
    code = getattr(context, "code", None)
    return code() if callable(code) else None


class _ClientCallDetails(grpc.ClientCallDetails):
    __slots__ = ("compression", "credentials", "metadata", "method", "timeout", "wait_for_ready")

    def __init__(self, details: grpc.ClientCallDetails, metadata: tuple[tuple[str, str | bytes], ...]) -> None:
        self.method = details.method
        self.timeout = details.timeout
        self.metadata = metadata
        self.credentials = details.credentials
        self.wait_for_ready = getattr(details, "wait_for_ready", None)
        self.compression = getattr(details, "compression", None)


class _CalledMethod:
    """One method's client-side counting, built once: the attributes per status code (None: Raft, not counted)."""

    __slots__ = ("by_code",)

    def __init__(self, method: str) -> None:
        self.by_code: dict[grpc.StatusCode, dict[str, str]] | None = (
            None
            if "/bookstore.raft." in method
            else {code: {"method": method, "code": name} for code, name in _CODE_NAMES.items()}
        )


# Methods a process calls are the few its stubs name: bounded by the code, not by its callers.
_CALLED_MAX = 512


class ClientInterceptor(grpc.UnaryUnaryClientInterceptor):  # type: ignore[type-arg]  # generic in stubs only
    """Adds the current correlation id to every outgoing call and counts the outcome."""

    def __init__(self) -> None:
        self._methods: dict[str | bytes, _CalledMethod] = {}

    def _called(self, method: str | bytes) -> _CalledMethod:
        called = self._methods.get(method)
        if called is None:
            called = _CalledMethod(method.decode() if isinstance(method, bytes) else method)
            if len(self._methods) < _CALLED_MAX:
                self._methods[method] = called  # a racing second insert of the same method is harmless
        return called

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: grpc.ClientCallDetails, request: Any
    ) -> Any:
        given = client_call_details.metadata
        cid = correlation.current_correlation_id()
        if given:
            metadata = tuple(m for m in given if m[0] != correlation.METADATA_KEY)
            if cid:
                metadata = (*metadata, (correlation.METADATA_KEY, cid))
        else:
            metadata = ((correlation.METADATA_KEY, cid),) if cid else ()
        outcome = continuation(_ClientCallDetails(client_call_details, metadata), request)
        by_code = self._called(client_call_details.method).by_code
        if by_code is not None:
            counter = _get_instruments().client_calls
            # A callback, not outcome.code(): asking for the code would block a caller's .future().
            outcome.add_done_callback(lambda call: counter.add(1, by_code[call.code()]))
        return outcome
