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
    # Chance per tick that a node is picked to crash; it dies 0..crash_boundaries_max step boundaries
    # later (0: between two loop iterations), wherever in its loop that falls. Victims are picked by
    # role at most (leader_victim_rate), never by what they have on disk.
    crash_rate: float = 0.0
    crash_boundaries_max: int = 12
    down_ticks_max: int = 30
    full_restart_rate: float = 0.0  # chance per tick that every node crashes at once
    pause_rate: float = 0.0  # chance per tick that a node is paused (SIGSTOP)
    pause_ticks_max: int = 30
    partition_kinds: tuple[str, ...] = ("minority", "split", "isolate_leader", "bridge", "one_way")
    leader_victim_rate: float = 0.5  # chance a crash or pause picks the leader
    crash_after_ack_rate: float = 0.0  # chance a node crashes right after a client's write was acknowledged


# Every mix but calm holds a few messages for up to three or four election timeouts (10 ticks each).
_JITTER = NetworkFaults(
    duplicate_rate=0.02, delay_rate=0.1, delay_ticks_max=2, long_delay_rate=0.01, long_delay_ticks_max=30, reorder=True
)
_LOSSY = NetworkFaults(
    loss_rate=0.05,
    duplicate_rate=0.05,
    delay_rate=0.2,
    delay_ticks_max=4,
    long_delay_rate=0.02,
    long_delay_ticks_max=40,
    reorder=True,
)
FAULT_MIXES: dict[str, FaultMix] = {
    "calm": FaultMix("calm", NetworkFaults(duplicate_rate=0.01, reorder=True)),
    "lossy": FaultMix("lossy", _LOSSY),
    "partitions": FaultMix("partitions", _JITTER, partition_rate=0.04),
    "crashes": FaultMix(
        "crashes", _JITTER, crash_rate=0.03, full_restart_rate=0.003, pause_rate=0.01, crash_after_ack_rate=0.02
    ),
    "chaos": FaultMix("chaos", _LOSSY, partition_rate=0.02, crash_rate=0.015, full_restart_rate=0.002, pause_rate=0.01),
    # Crashes in the middle of elections: short outages and stalled leaders, so campaigns overlap
    # restarts and a delayed vote request reaches a voter that has just restarted.
    "election_crashes": FaultMix(
        "election_crashes",
        _JITTER,
        crash_rate=0.05,
        down_ticks_max=4,
        pause_rate=0.04,
        pause_ticks_max=25,
        leader_victim_rate=0.7,
        crash_after_ack_rate=0.03,
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
