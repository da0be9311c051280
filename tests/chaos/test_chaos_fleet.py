"""End to end: `python -m chaos` against its own local fleet for about a minute — a database replica killed and
restarted, the executor leader killed, a database leader paused and resumed — exits 0 with nothing lost,
nothing applied twice and the stock conserved.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Faults run one at a time; on a loaded machine a restart can push the next one late, so the two that
# must happen (a failover in each group) come first and the follower kill last.
SCHEDULE = (
    "6:pause:books_database:leader:3,"  # SIGSTOP the primary, SIGCONT 3 s later
    "16:kill:order_executor:leader:3,"  # SIGKILL the coordinator, wherever it is in 2PC
    "28:kill:books_database:follower:3"
)  # SIGKILL a replica, restart it 3 s later
RUN_TIMEOUT_S = 360


@pytest.mark.fleet
@pytest.mark.timeout(RUN_TIMEOUT_S + 30)
def test_a_short_chaos_run_keeps_every_invariant(tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    command = [
        sys.executable,
        "-m",
        "chaos",
        "--duration",
        "60",
        "--rate",
        "4",
        "--seed",
        "5",
        "--schedule",
        SCHEDULE,
        "--workdir",
        str(tmp_path / "run"),
        "--json",
        str(report_path),
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    report = json.loads(report_path.read_text())
    assert report["passed"] is True
    assert report["lost"] == 0 and report["applied_twice"] == 0 and report["stock_conserved"] is True
    assert report["committed"] > 0 and report["aborted"] > 0  # the declined card and contention abort some
    faults = report["faults"]
    assert len(faults) == 3 and not any("not injected" in f for f in faults[:2]), faults
    assert {f["group"] for f in report["failovers"]} == {"order_executor", "books_database"}, report["failovers"]
    assert "lost               0" in done.stdout and "PASSED" in done.stdout
