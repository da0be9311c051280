"""Faults for the chaos tool's own local fleet (utils.fleet.launcher.Fleet): SIGKILL and restart,
SIGSTOP/SIGCONT, graceful restarts, a slow payment participant (restarted with PAYMENT_DELAY_MS), and
isolation through chaos/faults/isolation.py when the machine allows it.
"""
from __future__ import annotations

import signal

from chaos.faults.isolation import LoopbackIsolation
from utils.fleet.launcher import Fleet

RESTART_HEALTHY_TIMEOUT_S = 60.0


class LocalFaults:
    def __init__(self, fleet: Fleet, isolation: LoopbackIsolation | None, isolation_problem: str | None) -> None:
        self.fleet = fleet
        self.isolation = isolation
        self.isolation_problem = isolation_problem
        self._paused: set[str] = set()
        self._killed: set[str] = set()
        self._slow: set[str] = set()

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
        spec = self.fleet.spec(node)
        if delay_ms:
            spec.env["PAYMENT_DELAY_MS"] = str(delay_ms)
            self._slow.add(node)
        else:
            spec.env.pop("PAYMENT_DELAY_MS", None)
            self._slow.discard(node)
        self.graceful_restart(node)

    def graceful_restart(self, node: str) -> None:
        self.fleet.stop(node)
        self.start(node)
        self.fleet.wait_healthy([node], timeout_s=RESTART_HEALTHY_TIMEOUT_S)

    def heal_all(self) -> None:
        for node in sorted(self._paused):
            self.resume(node)
        if self.isolation is not None:
            for node in self.isolation.isolated():
                self.isolation.reconnect(node)
        for node in sorted(self._slow):
            self.set_slow(node, 0)
        for node in sorted(self._killed):
            self.restart(node)
