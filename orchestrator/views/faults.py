"""GET /faults and POST /faults/{replica}/{action}: the Cluster tab's fault buttons (docs/watching.md), forwarded to
the local fleet's launcher, which owns the processes; 403 with the reason when the fleet did not allow faults.

Only a launcher started with `--allow-faults` hands the gateway its fault endpoint (loopback) and token; container
and cluster deployments never do, so there the routes only ever refuse.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, current_app, request

from orchestrator.problems import Problem

blueprint = Blueprint("faults", __name__)
EXTENSION = "bookstore.faults"
URL_ENV = "FLEET_FAULTS_URL"  # the names utils/fleet/fault_server.py hands over
TOKEN_ENV = "FLEET_FAULTS_TOKEN"  # noqa: S105 - the variable's name, not a secret
FORWARD_TIMEOUT_S = 15.0  # a restart waits for the process to spawn, not to be healthy
OFF_REASON = (
    "faults at a click are off: only a local fleet started with `python -m utils.fleet run --allow-faults` "
    "(make run ARGS=--allow-faults) allows them"
)
REPLICA_CHARS_MAX = 64


@dataclass(frozen=True, slots=True)
class FaultLink:
    url: str  # the launcher's loopback endpoint
    token: str

    @classmethod
    def from_environment(cls) -> FaultLink | None:
        url, token = os.environ.get(URL_ENV, ""), os.environ.get(TOKEN_ENV, "")
        if not url or not token:
            return None
        if not url.startswith(("http://127.0.0.1:", "http://[::1]:", "http://localhost:")):
            raise ValueError(f"{URL_ENV} must be a loopback http:// address, not {url!r}")
        return cls(url, token)


def install(app: Flask, link: FaultLink | None) -> None:
    app.extensions[EXTENSION] = link


def _link() -> FaultLink:
    link = current_app.extensions.get(EXTENSION)
    if not isinstance(link, FaultLink):
        raise Problem(403, "FAULTS_OFF", "Forbidden", OFF_REASON)
    return link


def _forward(link: FaultLink, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    data = json.dumps(body).encode() if body is not None else None
    forwarded = urllib.request.Request(  # noqa: S310 - a loopback http:// URL, checked in from_environment
        link.url + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {link.token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(forwarded, timeout=FORWARD_TIMEOUT_S) as answer:  # noqa: S310
            return int(answer.status), _json_object(answer.read())
    except urllib.error.HTTPError as refused:
        with refused:  # its body holds the connection open until closed
            return int(refused.code), _json_object(refused.read())
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise Problem(
            503,
            "FAULTS_UNAVAILABLE",
            "Service Unavailable",
            f"the launcher did not answer: {error}",
            headers={"Retry-After": "1"},
        ) from None


def _json_object(raw: bytes) -> dict[str, Any]:
    """The launcher's answer; one that is not a JSON object is its failure, answered 502 with what came."""
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise Problem(502, "FAULTS_FAILED", "Bad Gateway", f"the launcher answered no JSON object: {raw[:200]!r}")
    return body


@blueprint.get("/faults")
def get_faults() -> dict[str, Any]:
    link = current_app.extensions.get(EXTENSION)
    if not isinstance(link, FaultLink):
        return {"enabled": False, "reason": OFF_REASON, "replicas": {}, "cut": {"available": False, "reason": None}}
    status, body = _forward(link, "GET", "/faults")
    if status != 200:
        raise Problem(502, "FAULTS_FAILED", "Bad Gateway", str(body.get("reason", body)))
    return {"enabled": True, "reason": None, **body}


@blueprint.post("/faults/<replica>/<action>")
def post_fault(replica: str, action: str) -> dict[str, Any]:
    link = _link()
    if len(replica) > REPLICA_CHARS_MAX:
        raise Problem(400, "INVALID_REQUEST", "Bad Request", f"replica: at most {REPLICA_CHARS_MAX} characters")
    raw = request.get_json(force=True, silent=True) if request.content_length else {}
    if not isinstance(raw, dict):
        raise Problem(400, "INVALID_REQUEST", "Bad Request", 'body: a JSON object like {"seconds": 10}')
    seconds = raw.get("seconds")
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int)):
        raise Problem(400, "INVALID_REQUEST", "Bad Request", "seconds: a whole number")
    path = f"/faults/{urllib.parse.quote(replica, safe='')}/{urllib.parse.quote(action, safe='')}"
    status, body = _forward(link, "POST", path, {"seconds": seconds})
    if status != 200:
        code = {400: "INVALID_REQUEST", 404: "NOT_FOUND", 409: "CONFLICT"}.get(status, "FAULTS_FAILED")
        raise Problem(status if status in (400, 404, 409) else 502, code, "Refused", str(body.get("reason", body)))
    return {"enabled": True, "reason": None, **body}
