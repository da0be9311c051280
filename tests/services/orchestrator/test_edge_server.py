"""The gateway behind its real HTTP server (utils/web/server.py) on loopback, with fake dependencies: thousands of
half-sent requests do not stall checkouts, a flood beyond the in-flight bound is answered 503 at once, oversized
requests are problem+json, the OpenAPI document holds under schemathesis with no server error.
"""

from __future__ import annotations

import http.client
import json
import resource
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, settings

from orchestrator.edge_server import checkout_shedding, edge_limits
from orchestrator.settings import OrchestratorSettings
from testing.fleet_env import free_port
from testing.orders import seed_order
from tests.services.orchestrator.conftest import build_gateway
from tests.services.orchestrator.fakes import FakeFlow
from utils.web.server import HttpLimits, Shedding, WsgiServer

ROOT = Path(__file__).resolve().parents[3]
HOST = "127.0.0.1"


@contextmanager
def serving(app: Any, limits: HttpLimits, shedding: Shedding | None = None) -> Iterator[WsgiServer]:
    server = WsgiServer(app, HOST, free_port(HOST), limits, shedding=shedding, name="test", stop_grace_s=1.0)
    server.bind()
    thread = threading.Thread(target=server.run, name="test-http", daemon=True)
    thread.start()
    assert server.bound.wait(10), "the server did not start"
    try:
        yield server
    finally:
        server.stop()
        thread.join(15)
        assert not thread.is_alive(), "the server did not stop"


def _checkout(port: int, timeout_s: float = 10.0) -> requests.Response:
    return requests.post(f"http://{HOST}:{port}/checkout", json=seed_order(), timeout=timeout_s)


def _raw(port: int, data: bytes, timeout_s: float = 10.0) -> bytes:
    with socket.create_connection((HOST, port), timeout=timeout_s) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def _problem(raw: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, json.loads(body)


HALF_OPEN = 4000


def test_thousands_of_half_sent_requests_do_not_stall_checkouts() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * HALF_OPEN + 512  # both ends of every connection live in this process
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {wanted}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    gateway = build_gateway()
    limits = HttpLimits(header_timeout_s=3.0, body_timeout_s=3.0, connections_max=HALF_OPEN + 100, threads=8)
    sockets: list[socket.socket] = []
    try:
        with serving(gateway.app, limits) as server:
            for i in range(HALF_OPEN):
                sock = socket.create_connection((HOST, server.port), timeout=10)
                sockets.append(sock)
                if i % 2:  # headers never finished
                    sock.sendall(b"POST /checkout HTTP/1.1\r\nHost: x\r\nContent-Ty")
                else:  # headers sent, body half-sent
                    sock.sendall(b'POST /checkout HTTP/1.1\r\nHost: x\r\nContent-Length: 400\r\n\r\n{"items": ')
            # Normal checkouts keep answering while every half-sent request is still held open.
            answers = [_checkout(server.port, timeout_s=10) for _ in range(10)]
            assert [a.status_code for a in answers] == [200] * 10
            assert all(a.json()["status"] == "Order Approved" for a in answers)
            # The header and body deadlines then close every stalled connection, without an answer.
            deadline = time.monotonic() + 30
            for sock in sockets[:: HALF_OPEN // 20]:
                sock.settimeout(max(0.1, deadline - time.monotonic()))
                assert sock.recv(1024) == b"", "a stalled connection was answered instead of closed"
    finally:
        for sock in sockets:
            sock.close()


def test_a_flood_beyond_the_in_flight_bound_is_answered_503_at_once() -> None:
    hold = threading.Event()
    flow = FakeFlow(gate=hold)
    own = OrchestratorSettings(checkouts_in_flight_max=4, http_threads=8)
    gateway = build_gateway(settings=own, flow=flow)
    shed: list[int] = []
    shedding = checkout_shedding(own, gateway.app.extensions["bookstore.metrics"])
    shedding = Shedding(
        shedding.method,
        shedding.path,
        shedding.admission,
        shedding.retry_after_s,
        on_refused=lambda: shed.append(1),
        detail=shedding.detail,
    )
    with serving(gateway.app, edge_limits(own), shedding) as server, ThreadPoolExecutor(4) as pool:
        admitted = [pool.submit(_checkout, server.port) for _ in range(4)]
        deadline = time.monotonic() + 10
        while len(flow.validated) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(flow.validated) == 4, "the four admitted checkouts did not reach validation"
        # Three times the bound more: each refused at once, before any validation work, told when to retry.
        for _ in range(12):
            refused = _checkout(server.port, timeout_s=5)
            assert refused.status_code == 503
            assert refused.headers["Retry-After"] == "1"
            assert refused.headers["Content-Type"] == "application/problem+json"
            assert refused.json()["error"]["code"] == "OVERLOADED"
        assert len(flow.validated) == 4 and len(shed) == 12
        assert requests.get(f"http://{HOST}:{server.port}/healthz", timeout=5).status_code == 200  # reads still go
        hold.set()
        assert [f.result(timeout=10).status_code for f in admitted] == [200] * 4
        assert _checkout(server.port).status_code == 200  # the slots were given back
        _wait_until(lambda: shedding.admission.in_flight == 0, "every admission released")


def _wait_until(condition: Any, what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for: {what}"
        time.sleep(0.01)


@pytest.fixture(scope="module")
def edge() -> Iterator[WsgiServer]:
    own = OrchestratorSettings(request_line_bytes_max=1024, header_bytes_max=2048, body_bytes_max=4096)
    gateway = build_gateway(settings=own)
    with serving(
        gateway.app, edge_limits(own), checkout_shedding(own, gateway.app.extensions["bookstore.metrics"])
    ) as s:
        yield s
    gateway.idempotency.close()


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"POST /checkout HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", 413, "PAYLOAD_TOO_LARGE"),
        (
            b"POST /checkout HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2000\r\n" + b"x" * 8192 + b"\r\n",
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        (b"GET /orders/" + b"a" * 2000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "URI_TOO_LONG"),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 3000 + b"\r\n\r\n", 431, "HEADERS_TOO_LARGE"),
    ],
    ids=["413-length", "413-chunked", "414", "431"],
)
def test_oversized_requests_are_answered_with_problem_json(
    edge: WsgiServer, request_bytes: bytes, status: int, code: str
) -> None:
    got, headers, body = _problem(_raw(edge.port, request_bytes))
    assert (got, headers["content-type"], body["status"], body["error"]["code"]) == (
        status,
        "application/problem+json",
        status,
        code,
    )


def test_a_malformed_request_line_gets_the_server_s_own_400(edge: WsgiServer) -> None:
    # Tornado answers a request it cannot parse itself, with an empty body (docs/gateway.md says so).
    assert _raw(edge.port, b"NOT A REQUEST\r\n\r\n").startswith(b"HTTP/1.1 400 Bad Request")


def test_a_normal_request_still_works_through_the_same_server(edge: WsgiServer) -> None:
    conn = http.client.HTTPConnection(HOST, edge.port, timeout=10)
    try:
        for _ in range(3):  # keep-alive: several requests on one connection
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            assert (response.status, json.loads(response.read())) == (200, {"status": "ok"})
    finally:
        conn.close()


DOCUMENT = ROOT / "utils" / "api" / "openapi.yaml"
SCHEMA = schemathesis.openapi.from_path(str(DOCUMENT))
EDGE_STATUSES = {k for k in yaml.safe_load(DOCUMENT.read_text())["x-edge-responses"] if k.isdigit()}


def no_undocumented_server_error(ctx: Any, response: Any, case: Any) -> None:
    """A 500 is always a bug; a 503 only where the document promises one (fakes report some dependencies down)."""
    documented = set(case.operation.definition.raw.get("responses", {})) | EDGE_STATUSES
    status = response.status_code
    assert status < 500 or (status == 503 and "503" in documented), f"{status} from {case.method} {case.path}"
    if status >= 400:
        content_type = {k.lower(): v for k, v in response.headers.items()}.get("content-type", [""])
        assert content_type[0].startswith("application/problem+json"), f"{status} from {case.path}: {content_type}"
        # 405 answers a method the path does not have (schemathesis tries them): no operation documents it.
        assert status == 405 or str(status) in documented, f"undocumented {status} from {case.method} {case.path}"


@SCHEMA.parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_the_api_document_holds_with_no_server_error(case: Any, edge: WsgiServer) -> None:
    response = case.call(base_url=f"http://{HOST}:{edge.port}", timeout=10)
    case.validate_response(response, checks=[no_undocumented_server_error])
