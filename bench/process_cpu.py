"""CPU time of the fleet's processes, read from /proc, and a py-spy profile of one of them.

Per-process CPU over a load step divided by the orders of that step is the figure that says where an order's
cost goes; the profile says why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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


def profile_raw(pid: int, duration_s: int, out_dir: Path, gil: bool = True, native: bool = False) -> Path:
    """py-spy samples `pid` for `duration_s` and leaves the raw stacks (one line per stack: frames and a count) in
    `out_dir`. `gil`: only the thread holding the GIL, i.e. Python CPU, not threads waiting on I/O or locks;
    `native`: C frames too (sqlite, gRPC core), which pauses the process at each sample."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = out_dir / f"profile-{pid}.txt"
    command = [py_spy, "record", "--pid", str(pid), "--duration", str(duration_s), "--rate", "200"]
    command += ["--gil"] if gil else []
    command += ["--native"] if native else ["--nonblocking"]
    subprocess.run([*command, "--format", "raw", "--output", str(raw)], check=True, capture_output=True)
    return raw
