"""Plays the fault schedule against the fleet: at each event's time it finds today's leader (or a follower,
or the single process), breaks it, and heals it `hold_s` later; every step lands in the History.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

from chaos.faults import Injector
from chaos.history import History
from chaos.load import Clock
from chaos.observe import StatusProbe
from chaos.records import FaultRecord
from chaos.scenario import FaultEvent, FaultKind, Role, Target

log = logging.getLogger("chaos.faults")
LEADER_WAIT_S = 10.0  # a fault aimed at a leader waits this long for one to be elected
SLOW_DELAY_MS = 1500  # the slow participant's delay before answering each Prepare


class FaultRunner:
    def __init__(
        self,
        schedule: list[FaultEvent],
        injector: Injector,
        probe: StatusProbe,
        nodes: Callable[[str], list[str]],
        history: History,
        clock: Clock,
        seed: int,
        load_started_s: float,
    ) -> None:
        self.schedule = schedule
        self.injector = injector
        self.probe = probe
        self.nodes = nodes  # service → its process names
        self.history = history
        self.clock = clock
        self.rng = random.Random(f"{seed}:targets")
        self.load_started_s = load_started_s
        self.last_healed_s = load_started_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-faults", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stops before the next fault; a fault in progress is healed first."""
        self._stop.set()
        self._thread.join(timeout=120)

    def _wait_until(self, at_s: float) -> bool:
        return not self._stop.wait(max(0.0, self.load_started_s + at_s - self.clock.now_s()))

    def _run(self) -> None:
        for index, event in enumerate(self.schedule):
            if not self._wait_until(event.at_s):
                for missed in self.schedule[index:]:
                    self.history.add_fault(
                        FaultRecord(missed, "-", self.clock.now_s(), None, "the load ended before its turn")
                    )
                return
            self._play(event)

    def _play(self, event: FaultEvent) -> None:
        started = self.clock.now_s()
        try:
            nodes = self.resolve(event.target)
            if event.kind is FaultKind.ISOLATE and (problem := self.injector.cannot_isolate()):
                raise RuntimeError(problem)
        except RuntimeError as error:
            self.history.add_fault(FaultRecord(event, "?", started, None, str(error)))
            return
        label = ",".join(nodes)
        log.info("fault", extra={"kind": event.kind.value, "node": label})
        try:
            self._break(event.kind, nodes)
        except Exception as error:  # e.g. the process had exited: report, and carry on with the run
            self.history.add_fault(FaultRecord(event, label, started, None, f"{type(error).__name__}: {error}"))
            self.injector.heal_all()
            return
        if event.kind is not FaultKind.ROLL:
            # Held for hold_s from when it really started: an earlier slow heal may have made it late.
            self._stop.wait(max(0.0, started + event.hold_s - self.clock.now_s()))
            self._heal(event.kind, nodes)
        healed = self.clock.now_s()
        self.last_healed_s = healed
        self.history.add_fault(FaultRecord(event, label, started, healed))

    def resolve(self, target: Target) -> list[str]:
        """The process(es) the target names right now."""
        if target.role is Role.SINGLE:
            return self.nodes(target.service)[:1]
        replicas = self.nodes(target.service)
        if target.role is Role.ALL:
            return replicas
        deadline = time.monotonic() + LEADER_WAIT_S
        while True:
            leader = self.probe.leader(target.service)
            if leader is not None:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"no {target.service} leader within {LEADER_WAIT_S:.0f} s")
            time.sleep(0.2)
        if target.role is Role.LEADER:
            return [leader]
        return [self.rng.choice(sorted(n for n in replicas if n != leader))]

    def _break(self, kind: FaultKind, nodes: list[str]) -> None:
        for node in nodes:
            if kind is FaultKind.KILL:
                self.injector.kill(node)
            elif kind is FaultKind.PAUSE:
                self.injector.pause(node)
            elif kind is FaultKind.ISOLATE:
                self.injector.isolate(node)
            elif kind is FaultKind.SLOW:
                self.injector.set_slow(node, SLOW_DELAY_MS)
            elif kind is FaultKind.ROLL:
                self.injector.graceful_restart(node)

    def _heal(self, kind: FaultKind, nodes: list[str]) -> None:
        for node in nodes:
            if kind is FaultKind.KILL:
                self.injector.restart(node)
            elif kind is FaultKind.PAUSE:
                self.injector.resume(node)
            elif kind is FaultKind.ISOLATE:
                self.injector.reconnect(node)
            elif kind is FaultKind.SLOW:
                self.injector.set_slow(node, 0)
