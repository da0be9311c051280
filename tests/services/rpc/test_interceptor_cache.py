"""The interceptors' per-method caches (issue 14) keep every check: a verdict kept for one caller never answers
for another, each call still gets its own correlation id and deadline, and names the server has no handler for
are never kept (callers cannot grow the caches)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import grpc
import pytest

from testing.pki import harness_tls, harness_trust
from utils.rpc import correlation, deadline
from utils.rpc.core.authz import Role
from utils.rpc.server import GrpcService

SERVICE = "test.Guarded"
SERVER = "suggestions"
TRUST = dataclasses.replace(harness_trust(), extra_rules={f"/{SERVICE}/Echo": frozenset({Role.ORCHESTRATOR})})


def _echo(request: bytes, context: grpc.ServicerContext) -> bytes:
    return json.dumps({"cid": correlation.current_correlation_id(), "left": deadline.remaining_s()}).encode()


def _register(server: grpc.Server) -> None:
    raw = lambda b: b  # noqa: E731 - raw bytes on the wire
    handler = grpc.unary_unary_rpc_method_handler(_echo, request_deserializer=raw, response_serializer=raw)
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, {"Echo": handler})])


@pytest.fixture
def port() -> Iterator[int]:
    service = GrpcService("guarded", "127.0.0.1:0", [_register], [SERVICE], identity=SERVER, trust=TRUST)
    yield service.start()
    service.stop()


def _call(port: int, identity: str, cid: str, timeout_s: float, method: str = "Echo") -> dict[str, object]:
    channel = harness_tls(identity).secure_channel(f"127.0.0.1:{port}", SERVER)
    try:
        rpc = channel.unary_unary(f"/{SERVICE}/{method}", request_serializer=None, response_deserializer=None)
        answer: dict[str, object] = json.loads(rpc(b"", timeout=timeout_s, metadata=((correlation.METADATA_KEY, cid),)))
        return answer
    finally:
        channel.close()


def test_a_kept_verdict_answers_only_for_its_own_caller(port: int) -> None:
    for _ in range(2):  # the second round meets every verdict kept
        assert _call(port, "orchestrator", "cid-a", 5.0)["cid"] == "cid-a"
        with pytest.raises(grpc.RpcError) as refused:
            _call(port, "payment_service", "cid-b", 5.0)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "'payment_service' may not call" in (refused.value.details() or "")


def test_each_call_still_gets_its_own_correlation_id_and_deadline(port: int) -> None:
    first = _call(port, "orchestrator", "cid-1", 5.0)
    second = _call(port, "orchestrator", "cid-2", 1.0)
    assert (first["cid"], second["cid"]) == ("cid-1", "cid-2")
    assert isinstance(first["left"], float) and isinstance(second["left"], float)
    assert 1.0 < first["left"] <= 5.0 and 0 < second["left"] <= 1.0


def test_unknown_methods_are_unimplemented_and_never_kept(port: int) -> None:
    for n in range(20):
        with pytest.raises(grpc.RpcError) as unknown:
            _call(port, "orchestrator", "cid", 5.0, method=f"Nope{n}")
        assert unknown.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert _call(port, "orchestrator", "cid", 5.0)["cid"] == "cid"
