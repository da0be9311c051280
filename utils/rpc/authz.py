"""The server interceptor that applies the authorization policy (utils/rpc/core/authz.py) before any handler runs.

A refused call answers UNAUTHENTICATED (no verified identity) or PERMISSION_DENIED (a wrong identity, or a method
the table does not name), is logged with the identity and the method, counted, and never reaches the handler.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import grpc

from utils.rpc.core.authz import Policy, Verdict
from utils.telemetry import meter
from utils.tls import peer_identity

log = logging.getLogger("rpc.authz")

_refusals: Any = None


def _refusal_counter() -> Any:
    global _refusals
    if _refusals is None:
        _refusals = meter("utils.rpc.authz").create_counter(
            "rpc_server_refused_calls",
            unit="1",
            description="gRPC calls refused by authorization, by method and verdict",
        )
    return _refusals


def refuse(context: grpc.ServicerContext, verdict: Verdict, identity: str | None, method: str, service: str) -> None:
    """Logs, counts and aborts: the one way a call is refused for who sent it."""
    _refusal_counter().add(1, {"service": service, "method": method, "verdict": verdict.value})
    log.warning("call refused", extra={"identity": identity or "", "method": method, "verdict": verdict.value})
    if verdict is Verdict.UNAUTHENTICATED:
        context.abort(grpc.StatusCode.UNAUTHENTICATED, "a client certificate of the fleet is required")
    if verdict is Verdict.UNKNOWN_METHOD:
        context.abort(grpc.StatusCode.PERMISSION_DENIED, f"{method} is not open to any caller")
    context.abort(grpc.StatusCode.PERMISSION_DENIED, f"{identity!r} may not call {method}")


# The identities one method's verdicts are kept for: the fleet's certificates name a few dozen; past the bound a
# verdict is still decided, only not kept.
_VERDICTS_PER_METHOD_MAX = 64


class _MethodGuard:
    """One method's authorization, built once per method: the verdict per caller identity, decided by the pure
    policy on first sight and kept (the policy and the server's identity never change while it serves)."""

    __slots__ = ("lock", "method", "policy", "server_identity", "service", "verdicts")

    def __init__(self, policy: Policy, server_identity: str, service: str, method: str) -> None:
        self.policy = policy
        self.server_identity = server_identity
        self.service = service
        self.method = method
        self.verdicts: dict[str | None, Verdict] = {}
        # Many server threads miss at once: the size check and the insert must be one step, or each sees room
        # and together they overrun the bound. Hits read the dict without it (a dict get is atomic).
        self.lock = threading.Lock()

    def check(self, context: grpc.ServicerContext) -> None:
        identity = peer_identity(context)
        verdict = self.verdicts.get(identity)
        if verdict is None:
            verdict = self.policy.decide(self.method, identity, self.server_identity)
            with self.lock:
                if len(self.verdicts) < _VERDICTS_PER_METHOD_MAX:
                    self.verdicts[identity] = verdict
        if verdict is not Verdict.ALLOW:
            refuse(context, verdict, identity, self.method, self.service)


class AuthorizationInterceptor(grpc.ServerInterceptor):  # type: ignore[type-arg]  # generic in stubs only
    """Wraps every handler kind: the identity is only known inside the call (the TLS auth context).

    The guarded handler is made once per method the server has (grpc asks for it on every call) and kept.
    """

    def __init__(self, policy: Policy, server_identity: str, service: str) -> None:
        self.policy = policy
        self.server_identity = server_identity
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
            return None  # unknown method: nothing is kept for it, so callers cannot grow the cache
        guarded_handler = self._guarded(method, handler)
        with self._lock:
            return self._handlers.setdefault(method, guarded_handler)

    def _guarded(self, method: str, handler: Any) -> Any:
        check = _MethodGuard(self.policy, self.server_identity, self.service, method).check

        def guard(inner: Callable[[Any, grpc.ServicerContext], Any]) -> Callable[[Any, grpc.ServicerContext], Any]:
            def guarded(request: Any, context: grpc.ServicerContext) -> Any:
                check(context)
                return inner(request, context)

            return guarded

        kinds = (
            (handler.unary_unary, grpc.unary_unary_rpc_method_handler),
            (handler.unary_stream, grpc.unary_stream_rpc_method_handler),
            (handler.stream_unary, grpc.stream_unary_rpc_method_handler),
            (handler.stream_stream, grpc.stream_stream_rpc_method_handler),
        )
        for inner, make in kinds:
            if inner is not None:
                return make(
                    guard(inner),
                    request_deserializer=handler.request_deserializer,
                    response_serializer=handler.response_serializer,
                )
        return handler
