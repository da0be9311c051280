"""Paper tests of leadership transfer (Raft thesis §3.10): catch up, TIMEOUT_NOW, abort on timeout."""

from __future__ import annotations

import pytest

from testing.raft_sim_cluster import Cluster
from utils.raft.core import MessageType, Role
from utils.raft.errors import NotLeader

ELECTION_TICKS = 10


def test_transfer_to_an_up_to_date_follower_without_an_election_timeout() -> None:
    cluster = Cluster(["a", "b", "c"], seed=51)
    cluster.elect("a")
    cluster.run(1)
    term = cluster.nodes["a"].raw.term
    cluster.nodes["a"].raw.transfer_leadership("c")
    cluster.deliver_all()  # no ticks: nobody's election timer is involved
    assert cluster.leader() == "c" and cluster.nodes["c"].raw.term == term + 1
    assert cluster.nodes["a"].raw.role is Role.FOLLOWER


def test_transfer_catches_a_lagging_target_up_and_refuses_proposals_meanwhile() -> None:
    cluster = Cluster(["a", "b", "c"], seed=52)
    cluster.elect("a")
    cluster.isolate("c")
    for i in range(20):
        cluster.propose("a", f"put k{i} v".encode())
    cluster.deliver_all()
    cluster.nodes["a"].raw.transfer_leadership("c")
    with pytest.raises(NotLeader):
        cluster.propose("a", b"put refused during transfer")
    cluster.heal()
    cluster.sent.clear()
    cluster.run(2)
    assert cluster.leader() == "c"
    timeout_now = [m for m in cluster.sent if m.type is MessageType.TIMEOUT_NOW]
    assert [m.recipient for m in timeout_now] == ["c"]
    assert cluster.nodes["c"].raw.status().commit_index >= 21  # it had caught up before campaigning


def test_transfer_aborts_after_an_election_timeout_and_proposals_resume() -> None:
    cluster = Cluster(["a", "b", "c"], seed=53)
    cluster.elect("a")
    cluster.isolate("c")
    cluster.propose("a", b"put k v")
    cluster.deliver_all()
    cluster.nodes["a"].raw.transfer_leadership("c")
    cluster.run(ELECTION_TICKS)
    assert cluster.leader() == "a"
    assert cluster.nodes["a"].raw.status().transferee is None
    cluster.propose("a", b"put k after")  # accepted again


def test_transfer_on_a_follower_raises() -> None:
    cluster = Cluster(["a", "b", "c"], seed=54)
    cluster.elect("a")
    with pytest.raises(NotLeader):
        cluster.nodes["b"].raw.transfer_leadership("c")
    with pytest.raises(ValueError):
        cluster.nodes["a"].raw.transfer_leadership("zz")
