"""Faults for the chaos tool's own local fleet (utils.fleet.launcher.Fleet): SIGKILL and restart,
SIGSTOP/SIGCONT, graceful restarts, a slow participant, and isolation through chaos/faults/isolation.py when
the machine allows it.

A slow participant is either throttled (stopped 80 % of the time, in 0.5 s cycles: every answer comes late,
like a container with a fraction of a CPU) or, with slow_by="setting", restarted with PAYMENT_DELAY_MS (the
payment service's own fault injection: each Prepare waits that long; the restart itself is a short outage).
"""

from __future__ import annotations

import signal
import threading

from chaos.faults.isolation import LoopbackIsolation
from utils.fleet.launcher import Fleet

RESTART_HEALTHY_TIMEOUT_S = 60.0
THROTTLE_STOPPED_S = 0.4
THROTTLE_RUNNING_S = 0.1
# The fault-injection setting of each service that has one (docs/design.md §6's slow participant:
# payment_service's PAYMENT_DELAY_MS).
DELAY_SETTINGS = {"payment_service": "PAYMENT_DELAY_MS"}


class Throttle:
    """SIGSTOP/SIGCONT in cycles until stopped; always leaves the process running."""

    def __init__(self, fleet: Fleet, node: str) -> None:
        self.fleet = fleet
        self.node = node
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._cycle, name=f"chaos-throttle-{node}", daemon=True)
        self._thread.start()

    def _cycle(self) -> None:
        try:
            while not self._stop.is_set():
                self.fleet.signal(self.node, signal.SIGSTOP)
                self._stop.wait(THROTTLE_STOPPED_S)
                self.fleet.signal(self.node, signal.SIGCONT)
                self._stop.wait(THROTTLE_RUNNING_S)
        except (OSError, ProcessLookupError):
            return  # the process is gone: nothing left to slow down

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            self.fleet.signal(self.node, signal.SIGCONT)
        except (OSError, ProcessLookupError):
            pass


class LocalFaults:
    def __init__(
        self,
        fleet: Fleet,
        isolation: LoopbackIsolation | None,
        isolation_problem: str | None,
        slow_by: str = "throttle",
    ) -> None:
        if slow_by not in ("throttle", "setting"):
            raise ValueError(f"slow_by must be throttle or setting, not {slow_by!r}")
        self.slow_by = slow_by
        self.fleet = fleet
        self.isolation = isolation
        self.isolation_problem = isolation_problem
        self._paused: set[str] = set()
        self._killed: set[str] = set()
        self._slow: set[str] = set()
        self._throttles: dict[str, Throttle] = {}

    def start(self, node: str) -> None:
        """Starts a process and, when isolation is on, moves it into its cgroup before it opens a socket."""
        self.fleet.start(node)
        if self.isolation is not None:
            self.isolation.adopt(node, self.fleet.processes[node].pid)

    def _host(self, node: str) -> str:
        return self.fleet.spec(node).address.rpartition(":")[0]

    def kill(self, node: str) -> None:
        self.fleet.kill(node)
        self._killed.add(node)

    def restart(self, node: str) -> None:
        self.start(node)
        self._killed.discard(node)
        self.fleet.wait_healthy([node], timeout_s=RESTART_HEALTHY_TIMEOUT_S)

    def pause(self, node: str) -> None:
        self.fleet.signal(node, signal.SIGSTOP)
        self._paused.add(node)

    def resume(self, node: str) -> None:
        self.fleet.signal(node, signal.SIGCONT)
        self._paused.discard(node)

    def cannot_isolate(self) -> str | None:
        return None if self.isolation is not None else (self.isolation_problem or "isolation is off")

    def isolate(self, node: str) -> None:
        if self.isolation is None:
            raise RuntimeError(self.cannot_isolate())
        self.isolation.isolate(node, self._host(node))

    def reconnect(self, node: str) -> None:
        if self.isolation is not None:
            self.isolation.reconnect(node)

    def set_slow(self, node: str, delay_ms: int) -> None:
        if self.slow_by == "throttle":
            if delay_ms and node not in self._throttles:
                self._throttles[node] = Throttle(self.fleet, node)
            elif not delay_ms and node in self._throttles:
                self._throttles.pop(node).stop()
            return
        spec = self.fleet.spec(node)
        setting = DELAY_SETTINGS.get(spec.module)
        if setting is None:
            raise RuntimeError(f"{spec.module} has no delay setting; use --slow-by throttle")
        if delay_ms:
            spec.env[setting] = str(delay_ms)
            self._slow.add(node)
        else:
            spec.env.pop(setting, None)
            self._slow.discard(node)
        self.graceful_restart(node)

    def graceful_restart(self, node: str) -> None:
        self.fleet.stop(node)
        self.start(node)
        self.fleet.wait_healthy([node], timeout_s=RESTART_HEALTHY_TIMEOUT_S)

    def heal_all(self) -> None:
        for node in sorted(self._throttles):
            self._throttles.pop(node).stop()
        for node in sorted(self._paused):
            self.resume(node)
        if self.isolation is not None:
            for node in self.isolation.isolated():
                self.isolation.reconnect(node)
        for node in sorted(self._slow):
            self.set_slow(node, 0)
        for node in sorted(self._killed):
            self.restart(node)
