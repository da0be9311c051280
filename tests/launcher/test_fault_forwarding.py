"""The gateway's /faults routes (orchestrator/views/faults.py) in front of a launcher that answers badly: an answer
that is not a JSON object is the launcher's failure, 502 with what came, never a 500 of the gateway's own."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from orchestrator.views.faults import FaultLink, install
from tests.services.orchestrator.conftest import Gateway, build_gateway

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def garbled() -> Iterator[Gateway]:
    """A gateway whose launcher answers every request 200 with a body that is no JSON object."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass  # a test server: nothing to keep

        def _garble(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            data = b"<html>not the launcher</html>" if self.command == "GET" else b"[1, 2]"
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _garble  # noqa: N815 - http.server's naming

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    gateway = build_gateway()
    install(gateway.app, FaultLink(f"http://127.0.0.1:{server.server_address[1]}", "token"))
    try:
        yield gateway
    finally:
        gateway.idempotency.close()
        server.shutdown()
        server.server_close()


def test_a_launcher_answer_that_is_no_json_object_is_502(garbled: Gateway) -> None:
    listed = garbled.client.get("/faults")
    assert listed.status_code == 502 and "not the launcher" in listed.get_json()["detail"]
    posted = garbled.client.post("/faults/books-1/kill")
    assert posted.status_code == 502 and listed.get_json()["error"]["code"] == "FAULTS_FAILED"
