"""CPU time of the fleet's processes, read from /proc, and a py-spy profile of one of them.

Per-process CPU over a load step divided by the orders of that step is the figure that says where an order's
cost goes; the profile says why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds the process has used so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the command name: state is field 3, utime 14 and stime 15 (proc(5)); index from field 3.
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_S


def cpu_snapshot(pids: dict[str, int]) -> dict[str, float]:
    return {name: cpu_s(pid) for name, pid in pids.items()}


def cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before.get(name, 0.0) for name in after}


def profile_top(pid: int, duration_s: int, out_dir: Path, top: int = 12) -> list[tuple[str, float]]:
    """py-spy samples `pid` for `duration_s`; returns the functions with the most samples on top of the stack
    (self time, as a share), and leaves the collapsed stacks and a flame graph in `out_dir`."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = out_dir / f"profile-{pid}.txt"
    base = [py_spy, "record", "--pid", str(pid), "--duration", str(duration_s), "--nonblocking", "--rate", "200"]
    subprocess.run([*base, "--format", "raw", "--output", str(raw)], check=True, capture_output=True)
    self_samples: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            self_samples[stack.split(";")[-1]] += int(count)
    total = sum(self_samples.values()) or 1
    return [(frame, samples / total) for frame, samples in self_samples.most_common(top)]
