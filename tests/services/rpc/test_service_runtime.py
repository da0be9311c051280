"""The shared gRPC runtime: health (API port and health-only port), reflection, correlation ids across hops,
deadlines, graceful stop.

A raw-bytes echo method stands in for a service, so these tests need no generated code.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from testing.pki import harness_trust
from utils.rpc import correlation, deadline
from utils.rpc.client import call
from utils.rpc.client import open_channel as open_tls_channel
from utils.rpc.core.authz import Role
from utils.rpc.server import READY, GrpcService

SERVICE = "test.Echo"
SERVER = "suggestions"  # the certificate the echo server presents
# The echo methods are not the fleet's: this server's table opens them to the operator (the test's identity).
TRUST = dataclasses.replace(
    harness_trust(), extra_rules={f"/{SERVICE}/{m}": frozenset({Role.OPERATOR}) for m in ("Echo", "Fail")}
)


def open_channel(target: str) -> grpc.Channel:
    return open_tls_channel(target, SERVER)


def _echo_handler(request: bytes, context: grpc.ServicerContext) -> bytes:
    """Answers with what the handler sees: its correlation id and remaining budget."""
    return json.dumps(
        {"cid": correlation.current_correlation_id(), "left": deadline.remaining_s(), "body": request.decode()}
    ).encode()


def _fail_handler(request: bytes, context: grpc.ServicerContext) -> bytes:
    context.abort(grpc.StatusCode.INVALID_ARGUMENT, "field 'x' is bad")
    raise AssertionError("unreachable")


def _register(server: grpc.Server) -> None:
    identity = lambda b: b  # noqa: E731 - raw bytes on the wire
    handlers = {
        name: grpc.unary_unary_rpc_method_handler(fn, request_deserializer=identity, response_serializer=identity)
        for name, fn in (("Echo", _echo_handler), ("Fail", _fail_handler))
    }
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, handlers)])


@pytest.fixture
def service() -> Iterator[GrpcService]:
    svc = GrpcService("echo", "127.0.0.1:0", [_register], [SERVICE], shutdown_grace_s=0.5, identity=SERVER, trust=TRUST)
    svc.start()
    yield svc
    svc.stop()


def _echo(channel: grpc.Channel, body: str, timeout_s: float, method: str = "Echo") -> dict[str, object]:
    identity = lambda b: b  # noqa: E731
    rpc = channel.unary_unary(f"/{SERVICE}/{method}", request_serializer=identity, response_deserializer=identity)
    return dict(json.loads(call(rpc, body.encode(), timeout_s=timeout_s)))


def test_health_is_serving_for_the_server_and_each_service(service: GrpcService) -> None:
    with open_channel(f"127.0.0.1:{service.port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for name in ("", SERVICE):
            reply = stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=2)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        service.set_serving(False, SERVICE)
        reply = stub.Check(health_pb2.HealthCheckRequest(service=SERVICE), timeout=2)
        assert reply.status == health_pb2.HealthCheckResponse.NOT_SERVING


def test_reflection_lists_the_service_and_health(service: GrpcService) -> None:
    with open_channel(f"127.0.0.1:{service.port}") as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        replies = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=2)
        names = {s.name for r in replies for s in r.list_services_response.service}
    assert {SERVICE, "grpc.health.v1.Health"} <= names


def test_correlation_id_travels_in_metadata_to_the_handler(service: GrpcService) -> None:
    token = correlation.set_correlation_id("order-abc-123")
    try:
        reply = _echo(open_channel(f"127.0.0.1:{service.port}"), "hi", timeout_s=2)
    finally:
        correlation.reset_correlation_id(token)
    assert reply["cid"] == "order-abc-123"
    assert reply["body"] == "hi"


def test_handler_sees_the_callers_deadline_and_client_caps_by_remaining_budget(service: GrpcService) -> None:
    reply = _echo(open_channel(f"127.0.0.1:{service.port}"), "x", timeout_s=1.5)
    assert isinstance(reply["left"], float) and 0 < reply["left"] <= 1.5
    token = deadline.set_deadline_in(0.2)
    try:
        assert deadline.budget_s(5.0) <= 0.2
    finally:
        deadline.reset_deadline(token)
    with pytest.raises(ValueError):
        deadline.budget_s(0)


def test_one_structured_log_line_per_call_with_status_code(
    service: GrpcService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rpc")
    channel = open_channel(f"127.0.0.1:{service.port}")
    with pytest.raises(grpc.RpcError) as failure:
        _echo(channel, "x", timeout_s=2, method="Fail")
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    lines = [r for r in caplog.records if r.name == "rpc" and getattr(r, "method", "").endswith("/Fail")]
    assert len(lines) == 1
    assert vars(lines[0])["code"] == "INVALID_ARGUMENT" and isinstance(vars(lines[0])["ms"], float)


def test_stop_runs_hooks_and_reports_not_serving(service: GrpcService) -> None:
    ran: list[str] = []
    service.on_stop.append(lambda: ran.append("handoff"))
    service.stop()
    assert ran == ["handoff"]
    with open_channel(f"127.0.0.1:{service.port}") as channel, pytest.raises(grpc.RpcError):
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=0.5)
    with grpc.insecure_channel(f"127.0.0.1:{service.health_port}") as channel, pytest.raises(grpc.RpcError):
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=0.5)


def _probe(service: GrpcService, name: str) -> int:
    with grpc.insecure_channel(f"127.0.0.1:{service.health_port}") as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=name), timeout=2)
        return int(reply.status)


def test_the_health_port_serves_liveness_and_readiness_without_a_certificate(service: GrpcService) -> None:
    assert service.health_port not in (0, service.port)
    assert _probe(service, "") == health_pb2.HealthCheckResponse.SERVING
    assert _probe(service, READY) == health_pb2.HealthCheckResponse.SERVING
    service.set_serving(False)  # what a replica does while it knows no leader
    assert _probe(service, READY) == health_pb2.HealthCheckResponse.NOT_SERVING
    assert _probe(service, "") == health_pb2.HealthCheckResponse.SERVING, "still alive: liveness stays up"
    service.set_serving(True)
    assert _probe(service, READY) == health_pb2.HealthCheckResponse.SERVING


def test_the_health_port_serves_nothing_else_and_the_api_port_takes_no_plaintext(service: GrpcService) -> None:
    identity = lambda b: b  # noqa: E731
    with grpc.insecure_channel(f"127.0.0.1:{service.health_port}") as channel:
        echo = channel.unary_unary(f"/{SERVICE}/Echo", request_serializer=identity, response_deserializer=identity)
        with pytest.raises(grpc.RpcError) as refused:
            echo(b"x", timeout=2)
        assert refused.value.code() is grpc.StatusCode.UNIMPLEMENTED
    with grpc.insecure_channel(f"127.0.0.1:{service.port}") as channel, pytest.raises(grpc.RpcError) as plain:
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
    assert plain.value.code() is grpc.StatusCode.UNAVAILABLE  # the TLS handshake never completes


def test_a_message_over_the_bound_is_refused_before_the_handler(service: GrpcService) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        _echo(open_channel(f"127.0.0.1:{service.port}"), "x" * (service.message_bytes_max + 1), timeout_s=2)
    assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
