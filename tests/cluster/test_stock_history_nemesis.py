"""Thirty seconds of checkouts, restocks and stock reads over the whole local fleet (the chaos tool's own private
fleet) while a nemesis pauses, cuts off and kills a process every few seconds; the stock history of the hot books
is checked linearizable per book (chaos/stock_history.py, utils.linearizability), with every other invariant."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chaos.faults.isolation import unavailable_reason

REPO = Path(__file__).resolve().parents[2]
# One fault every four seconds, the cut-off and the pauses before the kill: a restart under load can push the
# faults after it late (they run one at a time), and every kind must have happened.
SCHEDULE = (
    "4:pause:books_database:leader:1.5,"
    "8:isolate:books_database:leader:1.5,"
    "12:isolate:order_executor:leader:1.5,"
    "16:kill:books_database:leader:1.5,"
    "20:pause:order_executor:leader:1.5,"
    "24:kill:order_executor:follower:1.5"
)
RUN_TIMEOUT_S = 240

pytestmark = [
    pytest.mark.fleet,
    pytest.mark.timeout(RUN_TIMEOUT_S + 30),
    pytest.mark.skipif(unavailable_reason() is not None, reason=f"isolation unavailable: {unavailable_reason()}"),
]


def test_a_thirty_second_multi_key_stock_history_under_kill_pause_and_isolate_is_linearizable_per_book(
    tmp_path: Path,
) -> None:
    report_path = tmp_path / "report.json"
    command = [sys.executable, "-m", "chaos", "--duration", "30", "--rate", "4", "--seed", "13"]
    command += ["--schedule", SCHEDULE, "--last-copies", "0", "--workdir", str(tmp_path / "run")]
    command += ["--json", str(report_path)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    report = json.loads(report_path.read_text())
    injected = [f.split()[1] for f in report["faults"] if "not injected" not in f]
    assert {"kill", "pause", "isolate"} <= set(injected), report["faults"]
    assert len(injected) >= 4, report["faults"]
    assert report["invariants"]["I7 stock reads linearizable"] == "holds", report["linearizability"]
    # Decided, not timed out: "linearizable (N reads, M writes)", one partition per hot book.
    assert report["linearizability"].startswith("linearizable"), report["linearizability"]
    reads = int(report["linearizability"].split("(")[1].split()[0])
    assert reads >= 50, report["linearizability"]
    assert report["passed"] is True and report["lost"] == 0 and report["applied_twice"] == 0
    print(report["linearizability"], report["faults"], sep="\n")
