"""Deterministic simulation of the Raft runtime (the production driver) under faults: many seeds, every mix.

Each seed checks Raft's safety properties at every step, convergence after healing, and the
linearizability of the clients' key-value history. RAFT_SIM_SEEDS / RAFT_SIM_TICKS raise the seed
count and the run length (`make soak` for long runs).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections import Counter

import pytest

from testing.raft_sim import FAULT_MIXES, SimOptions, Simulation, SimulationFailure, default_ticks, run_seed
from testing.raft_sim_node import CrashPlan, SimCrash, SimDisk
from tests.sim.conftest import SUMMARY_LINES
from utils.linearizability import CheckResult
from utils.raft import driver
from utils.raft.core import Entry, EntryKind, HardState, RawNode, Ready, quorum
from utils.raft.ready_loop import ReadyHandler

SEEDS = int(os.environ.get("RAFT_SIM_SEEDS", "168"))
TICKS = default_ticks()
MIXES = sorted(FAULT_MIXES)
CRASH_POINTS_SEEN: set[str] = set()


@pytest.mark.parametrize("mix", MIXES)
def test_many_seeds_keep_raft_safe_and_the_history_linearizable(mix: str) -> None:
    position = MIXES.index(mix)
    seeds = range(position, SEEDS, len(MIXES))
    started = time.monotonic()
    totals: Counter[str] = Counter()
    verdicts: Counter[CheckResult] = Counter()
    for seed in seeds:
        result = run_seed(SimOptions(seed=seed, mix=mix, ticks=TICKS))  # raises with seed + trace on failure
        verdicts[result.linearizable] += 1
        CRASH_POINTS_SEEN.update(result.crash_points)
        totals.update(
            ticks=result.ticks,
            messages=result.messages,
            lost=result.lost,
            completed=result.ops_completed,
            unknown=result.ops_unknown,
            failed=result.ops_failed,
            checks=result.checks,
            terms=result.terms,
            nodes5=int(result.nodes == 5),
            crashes_in_loop=result.crashes_in_loop,
            lost_writes=result.lost_writes,
        )
    elapsed = time.monotonic() - started
    SUMMARY_LINES.append(
        f"{mix:>12}: {len(seeds)} seeds, {totals['ticks']} ticks, {totals['messages']} messages "
        f"({totals['lost']} lost), ops {totals['completed']} ok / {totals['unknown']} unknown / "
        f"{totals['failed']} failed, {totals['checks']} safety checks, {totals['nodes5']} five-node runs, "
        f"{totals['crashes_in_loop']} crashes inside a loop ({totals['lost_writes']} lost unsynced writes), "
        f"linearizability {dict((k.value, v) for k, v in verdicts.items())}, {elapsed:.1f}s"
    )
    assert verdicts[CheckResult.UNKNOWN] <= max(1, len(seeds) // 50)  # the checker decided nearly all
    assert totals["completed"] > 20 * len(seeds)  # the workload really ran
    faults = FAULT_MIXES[mix]
    if faults.partition_rate or faults.crash_rate or faults.pause_rate:
        assert totals["terms"] > len(seeds)  # node faults forced re-elections
    if faults.crash_rate:
        assert totals["crashes_in_loop"] > len(seeds)  # crashes struck inside the driver's loop
    assert 0 < totals["nodes5"] < len(seeds)  # three- and five-node clusters both ran


def test_crashes_struck_at_every_step_boundary_of_the_loop() -> None:
    """Over the seeds above, a crash fell at each boundary: inside a Ready and between its parts."""
    if len(CRASH_POINTS_SEEN) == 0:
        pytest.skip("needs the many-seeds tests of this module in the same session")
    assert CRASH_POINTS_SEEN >= {
        "before persisting a Ready",
        "writing, before the fsync",
        "after persisting, before sending",
        "between two messages",
        "after sending, before applying",
        "applying an entry",
        "after applying, before advancing",
    }


def test_the_disk_model_loses_exactly_what_was_not_fsynced() -> None:
    crash = CrashPlan()
    disk = SimDisk(crash)
    entries = (Entry(term=1, index=1, kind=EntryKind.NORMAL, data=b"a"), Entry(1, 2, EntryKind.NORMAL, b"b"))
    disk.persist(HardState(term=1, vote="n2", commit=0), entries, None)  # a vote and entries: fsynced
    disk.persist(HardState(term=1, vote="n2", commit=2), (), None)  # the commit index alone: not fsynced
    assert disk.load().hard_state.commit == 2  # the running node reads its own write
    disk.crash()
    survived = disk.load()
    assert survived.hard_state == HardState(term=1, vote="n2", commit=0) and survived.entries == entries
    crash.countdown = 0
    with pytest.raises(SimCrash):  # a planned crash strikes inside the write, before anything lands
        disk.persist(HardState(term=2, vote="n3", commit=0), (), None)
    assert disk.load().hard_state.term == 1


def test_a_seed_replays_identically() -> None:
    options = SimOptions(seed=12345, mix="chaos", ticks=80)
    first, second = Simulation(options, tracing=True), Simulation(options, tracing=True)
    assert first.run() == second.run()
    assert first.trace_lines == second.trace_lines and len(first.trace_lines) > 100


def test_a_broken_quorum_is_caught_with_the_seed_and_a_replayable_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulator's checks bite: a core that counts a minority as a quorum fails loudly."""
    monkeypatch.setattr(quorum, "quorum_size", lambda voters_count: max(1, voters_count // 2))
    with pytest.raises(SimulationFailure) as failure:
        for seed in range(20):
            run_seed(SimOptions(seed=seed, mix="partitions", ticks=100), trace_lines_max=50)
    text = str(failure.value)
    assert "seed=" in text and "replay: python -m testing.raft_sim --seed" in text
    trace = [line for line in text.splitlines() if line.startswith("t=")]
    assert len(trace) == 50 and all(line[2:7].isdigit() for line in trace)


def test_a_driver_that_sends_before_it_persists_fails_the_first_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulation runs the production driver: break its Ready order and a seed fails at once."""

    def send_first(raw: RawNode, handler: ReadyHandler) -> Ready | None:
        if not raw.has_ready():
            return None
        ready = raw.ready()
        handler.send_ready(ready)
        handler.persist_ready(ready)
        handler.apply_ready(ready)
        raw.advance(ready)
        return ready

    monkeypatch.setattr(driver, "handle_ready", send_first)
    with pytest.raises(SimulationFailure, match="durability before sending"):
        run_seed(SimOptions(seed=0, mix="calm", ticks=50), trace_lines_max=0)


def test_sim_options_are_plain_data() -> None:
    options = SimOptions(seed=1)
    assert dataclasses.replace(options, seed=2).seed == 2
