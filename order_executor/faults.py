"""Fault injection for demos and tests: stop the coordinator at a chosen point of 2PC (off by default).

EXECUTOR_CRASH_AT=after_prepare|after_decision|during_phase2 fires once per data folder (a marker file), so the
replica that takes over, or the restarted one, runs on normally.
"""

from __future__ import annotations

import logging
import os
import signal
from enum import Enum
from pathlib import Path

log = logging.getLogger(__name__)


class CrashPoint(Enum):
    AFTER_PREPARE = "after_prepare"  # every vote in, no decision logged yet
    AFTER_DECISION = "after_decision"  # decision durable in the group's log, phase 2 not sent
    DURING_PHASE2 = "during_phase2"  # one participant told the decision, the other not


class CrashHook:
    def __init__(self, point: CrashPoint | None, marker_dir: Path, sig: signal.Signals = signal.SIGKILL) -> None:
        self.point = point
        self._marker_dir = marker_dir
        self._signal = sig

    @staticmethod
    def from_settings(crash_at: str, crash_signal: str, marker_dir: Path) -> CrashHook:
        point = CrashPoint(crash_at) if crash_at else None
        return CrashHook(point, marker_dir, signal.Signals[crash_signal])

    def armed(self, point: CrashPoint) -> bool:
        return self.point is point and not (self._marker_dir / f"crash-{point.value}.fired").exists()

    def reached(self, point: CrashPoint, tx_id: str) -> None:
        """Kills (or stops) this process at `point`, the first time any replica sharing the marker folder gets there."""
        if self.point is not point:
            return
        self._marker_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self._marker_dir / f"crash-{point.value}.fired", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.write(fd, tx_id.encode())
        os.close(fd)
        log.warning(
            "crash point reached: signalling self",
            extra={"point": point.value, "tx_id": tx_id, "signal": self._signal.name},
        )
        for handler in logging.getLogger().handlers:
            handler.flush()
        os.kill(os.getpid(), self._signal)
