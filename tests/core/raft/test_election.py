"""Paper tests of leader election: Raft §5.2, the election restriction (§5.4.1) and PreVote."""

from __future__ import annotations

from testing.raft_sim_cluster import Cluster
from utils.raft.core import Message, MessageType, Role

ELECTION_TICKS = 10


def _leaders(cluster: Cluster) -> list[str]:
    return [n for n, node in cluster.nodes.items() if node.alive and node.raw.role is Role.LEADER]


def test_initial_election_elects_exactly_one_leader_that_everyone_follows() -> None:
    """Raft §5.2: the first timeout starts an election; a majority of votes makes one leader."""
    for seed in range(5):
        cluster = Cluster(["a", "b", "c"], seed=seed)
        ticks = cluster.run_until(lambda: cluster.leader() is not None)  # noqa: B023 (run before the loop moves on)
        assert ticks < 2 * ELECTION_TICKS + 2  # the earliest randomised timeout wins
        leader = cluster.leader()
        assert _leaders(cluster) == [leader]
        terms = {node.raw.term for node in cluster.nodes.values()}
        assert len(terms) == 1
        assert {node.raw.leader for node in cluster.nodes.values()} == {leader}


def test_reelection_after_the_leader_is_lost() -> None:
    """Raft §5.2: followers that stop hearing from the leader elect a new one in a higher term."""
    cluster = Cluster(["a", "b", "c", "d", "e"], seed=3)
    cluster.run_until(lambda: cluster.leader() is not None)
    old = cluster.leader()
    assert old is not None
    old_term = cluster.nodes[old].raw.term
    cluster.crash(old)
    ticks = cluster.run_until(lambda: cluster.leader() not in (None, old))
    assert ticks <= 3 * ELECTION_TICKS
    new = cluster.leader()
    assert new is not None and cluster.nodes[new].raw.term > old_term


def test_no_quorum_means_no_leader_and_no_term_inflation() -> None:
    """Raft §5.2: without a majority nobody wins; with PreVote the lone node's term stays put."""
    cluster = Cluster(["a", "b", "c"], seed=4)
    cluster.run_until(lambda: cluster.leader() is not None)
    leader = cluster.leader()
    assert leader is not None
    survivor = next(n for n in cluster.ids if n != leader)
    term = cluster.nodes[survivor].raw.term
    for node_id in cluster.ids:
        if node_id != survivor:
            cluster.crash(node_id)
    cluster.run(20 * ELECTION_TICKS)
    node = cluster.nodes[survivor].raw
    assert node.role is not Role.LEADER
    assert node.term == term  # pre-votes failed, so no real campaign ever bumped the term


def test_old_leader_rejoins_and_steps_down_discarding_its_uncommitted_entries() -> None:
    """Raft §5.1/§5.3: a stale leader seeing a higher term becomes follower; its log is overwritten."""
    cluster = Cluster(["a", "b", "c"], seed=5, check_quorum=False)
    cluster.elect("a")
    cluster.isolate("a")
    cluster.propose("a", b"put k stale")  # can never commit: no majority
    cluster.elect("b")
    cluster.propose("b", b"put k fresh")
    cluster.deliver_all()
    assert cluster.nodes["a"].raw.role is Role.LEADER  # isolated and without CheckQuorum
    cluster.heal()
    cluster.run(3)  # b's heartbeat carries its higher term
    a = cluster.nodes["a"]
    assert a.raw.role is Role.FOLLOWER and a.raw.leader == "b"
    assert a.raw.term == cluster.nodes["b"].raw.term
    assert cluster.committed_commands("a") == [b"put k fresh"]
    assert a.machine.data == {"k": "fresh"}


def test_election_restriction_a_node_missing_committed_entries_cannot_win() -> None:
    """Raft §5.4.1: voters refuse a candidate whose log is less up to date than theirs."""
    cluster = Cluster(["a", "b", "c"], seed=6)
    cluster.elect("a")
    cluster.isolate("c")
    cluster.propose("a", b"put k v")
    cluster.deliver_all()
    assert cluster.nodes["a"].raw.status().commit_index == 2  # NOOP + the put, on a and b
    cluster.crash("a")
    cluster.heal()
    c = cluster.nodes["c"].raw
    # c campaigns (skipping PreVote and the lease, as on TIMEOUT_NOW) but b refuses its vote.
    c.step(Message(MessageType.TIMEOUT_NOW, "a", "c", c.term))
    cluster.deliver_all()
    assert c.role is not Role.LEADER
    ticks = cluster.run_until(lambda: cluster.leader() is not None)
    assert cluster.leader() == "b", ticks  # only b holds every committed entry


def test_one_vote_per_term_survives_a_restart() -> None:
    """Raft §5.2 + Figure 2: the vote is persisted before answering; a restarted node keeps it."""
    cluster = Cluster(["a", "b", "c"], seed=7)
    b = cluster.nodes["b"].raw
    b.step(Message(MessageType.VOTE, "a", "b", 5, index=0, log_term=0))
    cluster.process_all_readys()
    granted = [m for m in cluster.in_flight if m.type is MessageType.VOTE_RESPONSE]
    assert [m.reject for m in granted] == [False]
    cluster.in_flight.clear()
    cluster.crash("b")
    cluster.restart("b")
    b = cluster.nodes["b"].raw
    b.step(Message(MessageType.VOTE, "c", "b", 5, index=0, log_term=0))
    cluster.process_all_readys()
    answers = [m for m in cluster.in_flight if m.type is MessageType.VOTE_RESPONSE]
    assert [(m.recipient, m.reject) for m in answers] == [("c", True)]


def test_prevote_a_rejoining_node_does_not_bump_the_leaders_term() -> None:
    """PreVote (thesis §9.6): a partitioned node keeps its term, so rejoining disrupts nobody."""
    cluster = Cluster(["a", "b", "c"], seed=8)
    cluster.elect("a")
    term = cluster.nodes["a"].raw.term
    cluster.isolate("c")
    cluster.run(10 * ELECTION_TICKS)
    assert cluster.nodes["c"].raw.term == term  # pre-campaigns never raise the term
    cluster.heal()
    cluster.run(2 * ELECTION_TICKS)
    assert cluster.leader() == "a" and cluster.nodes["a"].raw.term == term
    assert cluster.nodes["c"].raw.leader == "a"


def test_without_prevote_a_rejoining_node_disrupts_the_leader() -> None:
    """The counterfactual of the PreVote test: without it the same partition forces an election."""
    cluster = Cluster(["a", "b", "c"], seed=8, pre_vote=False, check_quorum=False)
    cluster.elect("a")
    term = cluster.nodes["a"].raw.term
    cluster.isolate("c")
    cluster.run(10 * ELECTION_TICKS)
    assert cluster.nodes["c"].raw.term > term
    cluster.heal()
    cluster.run(4 * ELECTION_TICKS)
    assert max(node.raw.term for node in cluster.nodes.values()) > term + 1


def test_leader_lease_a_follower_that_hears_its_leader_refuses_votes() -> None:
    """etcd's lease check: a node that heard from a leader within the election timeout ignores votes."""
    cluster = Cluster(["a", "b", "c"], seed=9)
    cluster.elect("a")
    b = cluster.nodes["b"].raw
    term = b.term
    b.step(Message(MessageType.VOTE, "c", "b", term + 1, index=100, log_term=term))
    cluster.process_all_readys()
    assert b.term == term and b.status().vote == "a"
    assert not [m for m in cluster.in_flight if m.type is MessageType.VOTE_RESPONSE]
