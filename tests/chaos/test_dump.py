"""The raw record written with --history reads back as the same data, so a recorded run can be checked again."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from chaos.dump import read_history, write_history
from chaos.records import FaultRecord
from chaos.scenario import FaultEvent, FaultKind, Role, Target
from testing.evidence import StatusSample
from tests.chaos.builders import clean_run


def test_history_round_trip(tmp_path: Path) -> None:
    run, _ = clean_run()
    event = FaultEvent(5.0, FaultKind.KILL, Target("order_executor", Role.LEADER), 3.0)
    run = dataclasses.replace(
        run,
        faults=(FaultRecord(event, "executor-2", 5.1, 8.3),),
        status_samples=(StatusSample(1.0, "order_executor", "executor-2", "leader", 3, "", 9),),
    )
    path = tmp_path / "history.json"
    write_history(run, path)
    assert read_history(path) == run
