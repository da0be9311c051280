"""Fault mechanisms, one module per way of breaking things: local processes (signals), local isolation
(iptables by cgroup and loopback address), and the container fleet (docker kill/pause/network disconnect).
Every injector offers the same verbs, so the fault runner does not care which fleet it hurts.
"""

from __future__ import annotations

from typing import Protocol


class Injector(Protocol):
    def kill(self, node: str) -> None: ...
    def restart(self, node: str) -> None: ...  # after kill: starts it and waits until it is healthy
    def pause(self, node: str) -> None: ...
    def resume(self, node: str) -> None: ...
    def isolate(self, node: str) -> None: ...
    def reconnect(self, node: str) -> None: ...
    def set_slow(self, node: str, delay_ms: int) -> None: ...  # 0 = back to normal speed
    def graceful_restart(self, node: str) -> None: ...  # SIGTERM (leadership transfer), start, wait healthy
    def cannot_isolate(self) -> str | None: ...  # why isolation is unavailable here, if it is
    def heal_all(self) -> None: ...  # the safety net: undo whatever is still broken
