"""The launcher's fault endpoint: GET /faults and POST /faults/<replica>/<action> {"seconds": N} on loopback only,
behind a Bearer token made at start, answered by utils/fleet/faults.py's FleetFaults.

The launcher hands its address and token to the gateway alone (URL_ENV, TOKEN_ENV), whose /faults routes forward
the Cluster tab's buttons here (docs/watching.md).
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from utils.fleet.faults import FAULT_ERRORS, FaultRefused, FleetFaults

log = logging.getLogger(__name__)
URL_ENV = "FLEET_FAULTS_URL"  # handed to the gateway only
TOKEN_ENV = "FLEET_FAULTS_TOKEN"  # noqa: S105 - the variable's name, not a secret
BODY_BYTES_MAX = 1024


def answer(faults: FleetFaults, method: str, path: str, body: bytes) -> tuple[HTTPStatus, dict[str, Any]]:
    """One request to the endpoint (already authorised): GET /faults, POST /faults/<replica>/<action> with
    {"seconds": N}; the status and the JSON body to send back."""
    parts = path.strip("/").split("/")
    try:
        if method == "GET" and parts == ["faults"]:
            return HTTPStatus.OK, faults.state()
        if method != "POST" or len(parts) != 3 or parts[0] != "faults":
            raise FaultRefused(HTTPStatus.NOT_FOUND, f"no route {method} {path}")
        try:
            given = json.loads(body or b"{}")
        except ValueError as error:
            raise FaultRefused(HTTPStatus.BAD_REQUEST, f"body: {error}") from None
        seconds = given.get("seconds") if isinstance(given, dict) else None
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int)):
            raise FaultRefused(HTTPStatus.BAD_REQUEST, "body: seconds must be a whole number")
        return HTTPStatus.OK, faults.apply(parts[1], parts[2], seconds)
    except FaultRefused as refused:
        return refused.status, {"reason": refused.reason}
    except FAULT_ERRORS as error:
        log.exception("fault failed")
        return HTTPStatus.INTERNAL_SERVER_ERROR, {"reason": str(error)}


class FaultServer:
    """The loopback-only endpoint for `answer`, behind a Bearer token made here."""

    def __init__(self, faults: FleetFaults, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the fault endpoint listens on loopback only")
        self.faults = faults
        self.token = secrets.token_urlsafe(32)
        self._server = ThreadingHTTPServer((host, port), _handler(faults, f"Bearer {self.token}".encode()))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fleet-faults", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.faults.close()


def _handler(faults: FleetFaults, expected: bytes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        """HTTP in and out only: the token, the body's bound, then `answer`."""

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            log.debug("faults endpoint: " + format, *args)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._serve()

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self._serve()

        def _serve(self) -> None:
            length = self.headers.get("Content-Length") or "0"
            if not hmac.compare_digest(self.headers.get("Authorization", "").encode(), expected):
                self._send(HTTPStatus.UNAUTHORIZED, {"reason": "a valid bearer token is required"})
            elif not length.isdigit():
                self._send(HTTPStatus.BAD_REQUEST, {"reason": "Content-Length: a whole number of bytes"})
            elif int(length) > BODY_BYTES_MAX:
                self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"reason": f"body over {BODY_BYTES_MAX} bytes"})
            else:
                self._send(*answer(faults, self.command, self.path, self.rfile.read(int(length))))

        def _send(self, status: HTTPStatus, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
