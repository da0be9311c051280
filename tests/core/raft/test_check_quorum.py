"""Paper tests of CheckQuorum (Raft thesis §6.2): an isolated leader steps down and serves nothing."""

from __future__ import annotations

import pytest

from testing.raft_sim_cluster import Cluster
from utils.raft.core import Role
from utils.raft.errors import NotLeader

ELECTION_TICKS = 10


def test_an_isolated_leader_steps_down_within_two_election_timeouts() -> None:
    cluster = Cluster(["a", "b", "c"], seed=31)
    cluster.elect("a")
    cluster.run(3)
    cluster.isolate("a")
    ticks = cluster.run_until(lambda: cluster.nodes["a"].raw.role is not Role.LEADER, ticks_max=2 * ELECTION_TICKS)
    assert ticks <= 2 * ELECTION_TICKS
    with pytest.raises(NotLeader):
        cluster.propose("a", b"put k v")


def test_without_check_quorum_an_isolated_leader_keeps_believing() -> None:
    """The counterfactual: this is the stale leader CheckQuorum exists to stop."""
    cluster = Cluster(["a", "b", "c"], seed=31, check_quorum=False)
    cluster.elect("a")
    cluster.isolate("a")
    cluster.run(5 * ELECTION_TICKS)
    assert cluster.nodes["a"].raw.role is Role.LEADER


def test_a_leader_with_a_majority_stays_leader() -> None:
    cluster = Cluster(["a", "b", "c", "d", "e"], seed=32)
    cluster.elect("a")
    cluster.partition(["a", "b", "c"], ["d", "e"])
    cluster.run(10 * ELECTION_TICKS)
    assert cluster.nodes["a"].raw.role is Role.LEADER
