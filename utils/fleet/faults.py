"""Faults at a click for the local fleet (`python -m utils.fleet run --allow-faults`): kill, pause for N seconds,
cut off for N seconds or restart one Raft replica, each held fault undone by itself.

The launcher owns the processes, so it carries the faults out; utils/fleet/fault_server.py serves them to the
gateway's /faults routes (docs/watching.md). Off unless the flag is given. "Cut off" drops every packet the
replica's sockets send (its own cgroup and one iptables rule, as the chaos tool isolates a node), which needs root;
elsewhere it is refused with that reason.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from utils.fleet.cgroup_cut import cgroup2_root, cgroup_drop_rule, iptables, unavailable_reason
from utils.fleet.launcher import Fleet

log = logging.getLogger(__name__)
SECONDS_MAX = 120  # a pause or cut-off ends by itself within two minutes
HELD = {"pause": "paused", "cut": "cut"}  # the actions that hold a replica for N seconds → the state they show
ACTIONS = ("kill", "restart", *HELD)
# What carrying out or undoing a fault may raise: a signal to a gone process, iptables failing or timing out.
FAULT_ERRORS = (OSError, RuntimeError, subprocess.SubprocessError)


class FaultRefused(Exception):
    def __init__(self, status: HTTPStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class _Held:
    kind: str  # a value of HELD
    until_s: float  # wall clock, for the page
    due: float  # monotonic, for the expiry thread


def cut_unavailable_reason() -> str | None:
    """None when a replica can be cut off here; otherwise what is missing, in words."""
    reason = unavailable_reason("cutting a replica off")
    return None if reason is None else f"{reason}; kill and pause work without"


class FleetFaults:
    """The faults one launcher may inject into its Raft replicas. A held fault (pause, cut) is undone by one
    expiry thread at its due time; actions and expiries take one lock, so a replica is never held twice."""

    def __init__(self, fleet: Fleet, replicas: list[str]) -> None:
        self.fleet = fleet
        self.replicas = sorted(replicas)
        self.cut_problem = cut_unavailable_reason()
        self._root = cgroup2_root() if self.cut_problem is None else None
        self._tag = f"fleet-faults-{os.getpid()}"
        self._changed = threading.Condition()  # guards _held, _killed, _closed; notified when a hold is added
        self._held: dict[str, _Held] = {}
        self._killed: set[str] = set()
        self._closed = False
        self._expiry = threading.Thread(target=self._expire_due, name="fleet-faults-expiry", daemon=True)
        self._expiry.start()

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
        with self._changed:
            self._closed = True
            self._changed.notify_all()
            for name in list(self._held):
                self._release(name)
        self._expiry.join(timeout=5.0)

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
        with self._changed:
            replicas = {}
            for name in self.replicas:
                held = self._held.get(name)
                if not self._running(name):
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
        if action in HELD and (seconds is None or not 1 <= seconds <= SECONDS_MAX):
            raise FaultRefused(HTTPStatus.BAD_REQUEST, f"seconds: a whole number from 1 to {SECONDS_MAX}")
        with self._changed:
            running, busy = self._running(name), self._held.get(name)
            if action == "restart":
                if running:
                    raise FaultRefused(HTTPStatus.CONFLICT, f"{name} is running; kill it first")
                self.fleet.start(name)
                self.adopt(name)
                self._killed.discard(name)
            elif not running:
                raise FaultRefused(HTTPStatus.CONFLICT, f"{name} is not running; restart it first")
            elif action == "kill":
                if busy is not None:
                    self._release(name)
                self.fleet.kill(name)
                self._killed.add(name)
            elif busy is not None:
                raise FaultRefused(HTTPStatus.CONFLICT, f"{name} is already {busy.kind}")
            else:
                assert seconds is not None
                self._hold(name, action, seconds)
        log.warning("fault: %s", action, extra={"node": name, "seconds": seconds})
        return self.state()

    # ---- held faults (called with the lock held) ---------------------------------------------------

    def _running(self, name: str) -> bool:
        process = self.fleet.processes.get(name)
        return process is not None and process.poll() is None

    def _cut_rule(self, name: str) -> list[str]:
        return cgroup_drop_rule(f"{self._tag}-{name}")

    def _hold(self, name: str, action: str, seconds: int) -> None:
        if action == "cut":
            if self.cut_problem is not None:
                raise FaultRefused(HTTPStatus.CONFLICT, self.cut_problem)
            iptables("-I", self._cut_rule(name))
        else:
            self.fleet.signal(name, signal.SIGSTOP)
        self._held[name] = _Held(HELD[action], time.time() + seconds, time.monotonic() + seconds)
        self._changed.notify_all()  # the expiry thread may be waiting for a later due time

    def _release(self, name: str) -> None:
        """Undoes `name`'s held fault. A failure is logged and the hold forgotten: the replica is left as it is
        (a rule iptables could not delete is named in the log), and the expiry thread carries on with the rest."""
        held = self._held.pop(name)
        try:
            if held.kind == "cut":
                iptables("-D", self._cut_rule(name))
            elif self._running(name):
                self.fleet.signal(name, signal.SIGCONT)
        except FAULT_ERRORS:
            log.exception("fault: could not undo %s", held.kind, extra={"node": name})
            return
        log.warning("fault: %s over", held.kind, extra={"node": name})

    def _expire_due(self) -> None:
        with self._changed:
            while not self._closed:
                now = time.monotonic()
                for name in [n for n, held in self._held.items() if held.due <= now]:
                    self._release(name)
                next_due = min((held.due for held in self._held.values()), default=None)
                self._changed.wait(None if next_due is None else next_due - now)
