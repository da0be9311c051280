"""The fault mixes of the Raft simulator: which faults, how often, how long.

Each mix stresses one family (network, partitions, crashes, elections, stale leaders) or all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from testing.raft_sim_network import NetworkFaults


@dataclass(frozen=True, slots=True)
class FaultMix:
    name: str
    network: NetworkFaults = NetworkFaults()
    partition_rate: float = 0.0  # chance per tick that a partition starts (when none is active)
    partition_ticks_max: int = 40
    crash_rate: float = 0.0  # chance per tick that a node crashes
    crash_in_ready_rate: float = 0.0  # chance a node dies inside a Ready: half before persisting, half before sending
    down_ticks_max: int = 30
    full_restart_rate: float = 0.0  # chance per tick that every node crashes at once
    pause_rate: float = 0.0  # chance per tick that a node is paused (SIGSTOP)
    pause_ticks_max: int = 30
    partition_kinds: tuple[str, ...] = ("minority", "split", "isolate_leader", "bridge", "one_way")
    leader_victim_rate: float = 0.5  # chance a crash or pause picks the leader
    voter_crash_rate: float = 0.0  # chance per tick, mid-election, that a node that voted crashes


_JITTER = NetworkFaults(delay_rate=0.1, delay_ticks_max=2, reorder=True)
_LOSSY = NetworkFaults(loss_rate=0.05, duplicate_rate=0.03, delay_rate=0.2, delay_ticks_max=4, reorder=True)
FAULT_MIXES: dict[str, FaultMix] = {
    "calm": FaultMix("calm", NetworkFaults(reorder=True)),
    "lossy": FaultMix("lossy", _LOSSY),
    "partitions": FaultMix("partitions", _JITTER, partition_rate=0.04),
    "crashes": FaultMix(
        "crashes", _JITTER, crash_rate=0.02, crash_in_ready_rate=0.002, full_restart_rate=0.002, pause_rate=0.01
    ),
    "chaos": FaultMix(
        "chaos",
        _LOSSY,
        partition_rate=0.02,
        crash_rate=0.01,
        crash_in_ready_rate=0.002,
        full_restart_rate=0.001,
        pause_rate=0.01,
    ),
    # Crashes in the middle of elections: restarted voters must remember their vote.
    "election_crashes": FaultMix(
        "election_crashes",
        _JITTER,
        pause_rate=0.04,
        pause_ticks_max=25,
        leader_victim_rate=1.0,
        voter_crash_rate=0.3,
        down_ticks_max=3,
    ),
    # Deposed leaders that still believe they lead: what ReadIndex and CheckQuorum must defeat.
    "stale_leader": FaultMix(
        "stale_leader",
        _JITTER,
        partition_rate=0.05,
        partition_kinds=("isolate_leader", "one_way", "bridge"),
        pause_rate=0.03,
        pause_ticks_max=40,
        leader_victim_rate=0.9,
    ),
}
