"""Faults at a click for the local fleet (`python -m utils.fleet run --allow-faults`): kill, pause for N seconds,
cut off for N seconds or restart one Raft replica, served on a loopback-only HTTP endpoint behind a secret token.

The launcher owns the processes, so it carries the faults out; the gateway's /faults routes forward here with the
token it was handed through its environment (docs/watching.md). Off unless the flag is given: then nothing listens.
"Cut off" drops every packet the replica's sockets send (its own cgroup and one iptables rule, as the chaos tool
isolates a node), which needs root; elsewhere it is refused with that reason.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import signal
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from utils.fleet.cgroup_cut import cgroup2_root, cgroup_drop_rule, iptables, unavailable_reason
from utils.fleet.launcher import Fleet

log = logging.getLogger(__name__)
URL_ENV = "FLEET_FAULTS_URL"  # handed to the gateway only
TOKEN_ENV = "FLEET_FAULTS_TOKEN"  # noqa: S105 - the variable's name, not a secret
SECONDS_MAX = 120  # a pause or cut-off ends by itself within two minutes
BODY_BYTES_MAX = 1024
ACTIONS = ("kill", "restart", "pause", "cut")
RESTART_HEALTHY_TIMEOUT_S = 60.0


class FaultRefused(Exception):
    def __init__(self, status: HTTPStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(slots=True)
class _Held:
    kind: str  # paused | cut
    until_s: float  # wall clock, for the page
    timer: threading.Timer


def cut_unavailable_reason() -> str | None:
    """None when a replica can be cut off here; otherwise what is missing, in words."""
    reason = unavailable_reason("cutting a replica off")
    return None if reason is None else f"{reason}; kill and pause work without"


class FleetFaults:
    """The faults one launcher may inject into its Raft replicas, each undone by itself after its N seconds."""

    def __init__(self, fleet: Fleet, replicas: list[str]) -> None:
        self.fleet = fleet
        self.replicas = sorted(replicas)
        self.cut_problem = cut_unavailable_reason()
        self._root = cgroup2_root() if self.cut_problem is None else None
        self._tag = f"fleet-faults-{os.getpid()}"
        self._lock = threading.Lock()
        self._held: dict[str, _Held] = {}
        self._killed: set[str] = set()

    # ---- life cycle: the launcher calls these ----------------------------------------------------

    def adopt(self, name: str) -> None:
        """Moves a just-started replica into a cgroup of its own, so a cut-off can match its sockets."""
        if self._root is None or name not in self.replicas:
            return
        group = self._root / f"{self._tag}-{name}"
        group.mkdir(exist_ok=True)
        (group / "cgroup.procs").write_text(str(self.fleet.processes[name].pid))

    def close(self) -> None:
        """Undoes every fault still held (a paused replica resumed, rules removed): before the fleet stops."""
        with self._lock:
            held = list(self._held.items())
            self._held.clear()
        for name, fault in held:
            fault.timer.cancel()
            self._undo(name, fault.kind)

    def remove_cgroups(self) -> None:
        """Removes the replicas' cgroups: after the fleet stopped (a cgroup with a process in it stays)."""
        if self._root is not None:
            for group in self._root.glob(f"{self._tag}-*"):
                try:
                    group.rmdir()
                except OSError:
                    log.warning("cgroup left behind", extra={"cgroup": str(group)})

    # ---- the faults ------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        with self._lock:
            replicas = {}
            for name in self.replicas:
                process = self.fleet.processes.get(name)
                held = self._held.get(name)
                if process is None or process.poll() is not None:
                    state = "killed" if name in self._killed else "exited"
                else:
                    state = held.kind if held else "running"
                replicas[name] = {"state": state, "until": held.until_s if held else None}
        return {"replicas": replicas, "cut": {"available": self.cut_problem is None, "reason": self.cut_problem}}

    def apply(self, name: str, action: str, seconds: int | None) -> dict[str, Any]:
        if name not in self.replicas:
            raise FaultRefused(HTTPStatus.NOT_FOUND, f"no Raft replica named {name!r} (replicas: {self.replicas})")
        if action not in ACTIONS:
            raise FaultRefused(HTTPStatus.NOT_FOUND, f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
        if action in ("pause", "cut") and (seconds is None or not 1 <= seconds <= SECONDS_MAX):
            raise FaultRefused(HTTPStatus.BAD_REQUEST, f"seconds: a whole number from 1 to {SECONDS_MAX}")
        running = self._running(name)
        with self._lock:
            busy = self._held.get(name)
        if action == "restart":
            if running:
                raise FaultRefused(HTTPStatus.CONFLICT, f"{name} is running; kill it first")
            self.fleet.start(name)
            self.adopt(name)
            self._killed.discard(name)
            log.warning("fault: restarted", extra={"node": name})
            return self.state()
        if not running:
            raise FaultRefused(HTTPStatus.CONFLICT, f"{name} is not running; restart it first")
        if busy is not None and action != "kill":
            raise FaultRefused(HTTPStatus.CONFLICT, f"{name} is already {busy.kind}")
        if action == "kill":
            if busy is not None:
                busy.timer.cancel()
                with self._lock:
                    self._held.pop(name, None)
                self._undo(name, busy.kind)
            self.fleet.kill(name)
            self._killed.add(name)
            log.warning("fault: killed", extra={"node": name})
            return self.state()
        assert seconds is not None
        if action == "cut":
            if self.cut_problem is not None:
                raise FaultRefused(HTTPStatus.CONFLICT, self.cut_problem)
            iptables("-I", self._cut_rule(name))
        else:
            self.fleet.signal(name, signal.SIGSTOP)
        kind = "cut" if action == "cut" else "paused"
        timer = threading.Timer(seconds, self._expire, args=(name, kind))
        timer.daemon = True
        with self._lock:
            self._held[name] = _Held(kind, time.time() + seconds, timer)
        timer.start()
        log.warning("fault: %s for %d s", kind, seconds, extra={"node": name})
        return self.state()

    def _running(self, name: str) -> bool:
        process = self.fleet.processes.get(name)
        return process is not None and process.poll() is None

    def _cut_rule(self, name: str) -> list[str]:
        return cgroup_drop_rule(f"{self._tag}-{name}")

    def _expire(self, name: str, kind: str) -> None:
        with self._lock:
            held = self._held.get(name)
            if held is None or held.kind != kind:
                return
            del self._held[name]
        self._undo(name, kind)

    def _undo(self, name: str, kind: str) -> None:
        try:
            if kind == "cut":
                iptables("-D", self._cut_rule(name), check=False)
            elif self._running(name):
                self.fleet.signal(name, signal.SIGCONT)
        except (OSError, RuntimeError):
            log.exception("fault: could not undo %s", kind, extra={"node": name})
        log.warning("fault: %s over", kind, extra={"node": name})


class FaultServer:
    """The loopback-only endpoint: GET /faults, POST /faults/<replica>/<action> {"seconds": N}; Bearer token."""

    def __init__(self, faults: FleetFaults, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the fault endpoint listens on loopback only")
        self.faults = faults
        self.token = secrets.token_urlsafe(32)
        self._server = ThreadingHTTPServer((host, port), _handler(faults, self.token))
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


def _handler(faults: FleetFaults, token: str) -> type[BaseHTTPRequestHandler]:
    expected = f"Bearer {token}".encode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            log.debug("faults endpoint: " + format, *args)

        def _answer(self, status: HTTPStatus, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorized(self) -> bool:
            given = self.headers.get("Authorization", "").encode()
            if hmac.compare_digest(given, expected):
                return True
            self._answer(HTTPStatus.UNAUTHORIZED, {"reason": "a valid bearer token is required"})
            return False

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if not self._authorized():
                return
            if self.path != "/faults":
                self._answer(HTTPStatus.NOT_FOUND, {"reason": f"no route {self.path}"})
                return
            self._answer(HTTPStatus.OK, faults.state())

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            if not self._authorized():
                return
            parts = self.path.strip("/").split("/")
            if len(parts) != 3 or parts[0] != "faults":
                self._answer(HTTPStatus.NOT_FOUND, {"reason": f"no route {self.path}"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > BODY_BYTES_MAX:
                self._answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"reason": f"body over {BODY_BYTES_MAX} bytes"})
                return
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
                seconds = body.get("seconds") if isinstance(body, dict) else None
                if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int)):
                    raise ValueError("seconds must be a whole number")
            except ValueError as error:
                self._answer(HTTPStatus.BAD_REQUEST, {"reason": f"body: {error}"})
                return
            try:
                self._answer(HTTPStatus.OK, faults.apply(parts[1], parts[2], seconds))
            except FaultRefused as refused:
                self._answer(refused.status, {"reason": refused.reason})
            except (OSError, RuntimeError) as error:
                log.exception("fault failed")
                self._answer(HTTPStatus.INTERNAL_SERVER_ERROR, {"reason": str(error)})

    return Handler
