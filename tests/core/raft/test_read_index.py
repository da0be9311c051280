"""Paper tests of ReadIndex (Raft thesis §6.4): reads confirmed by a quorum heartbeat round."""

from __future__ import annotations

import pytest

from testing.raft_sim_cluster import Cluster
from utils.raft.core import Message, MessageType, ReadState, Role
from utils.raft.errors import NotLeader


def _read_states(cluster: Cluster, node_id: str) -> list[ReadState]:
    states: list[ReadState] = []
    cluster.ready_hooks.append(
        lambda node, ready: states.extend(ready.read_states) if node.node_id == node_id else None
    )
    return states


def test_read_is_served_after_a_quorum_answers_the_heartbeat_round() -> None:
    cluster = Cluster(["a", "b", "c"], seed=41)
    cluster.elect("a")
    cluster.propose("a", b"put k v")
    cluster.run(1)
    states = _read_states(cluster, "a")
    leader = cluster.nodes["a"]
    leader.raw.read_index(b"r1")
    ready = leader.raw.ready()
    assert ready.read_states == ()  # not before the heartbeat round
    heartbeats = [m for m in ready.messages if m.type is MessageType.APPEND]
    assert sorted(m.recipient for m in heartbeats) == ["b", "c"]
    assert all(m.context == b"r1" for m in heartbeats)
    leader.raw.advance(ready)
    cluster.in_flight.extend(ready.messages)
    cluster.deliver_all()
    assert states == [ReadState(index=2, context=b"r1")]


def test_reads_wait_for_the_leader_to_commit_an_entry_of_its_term() -> None:
    cluster = Cluster(["a", "b", "c"], seed=42)
    cluster.elect("a")
    cluster.isolate("a")
    cluster.elect("b")  # b's NOOP has not committed yet: b's followers are cut off
    cluster.partition(["b"], ["a", "c"])
    states = _read_states(cluster, "b")
    cluster.nodes["b"].raw.read_index(b"early")
    cluster.deliver_all()
    assert states == []
    cluster.heal()
    cluster.run(2)
    assert [s.context for s in states] == [b"early"]
    assert states[0].index >= cluster.nodes["b"].raw.status().last_index


def test_a_deposed_leader_never_serves_a_read_and_fails_it_fast() -> None:
    cluster = Cluster(["a", "b", "c"], seed=43, check_quorum=False)
    cluster.elect("a")
    cluster.isolate("a")
    cluster.elect("b")
    cluster.propose("b", b"put k new")
    cluster.deliver_all()
    states = _read_states(cluster, "a")
    dropped: list[bytes] = []
    cluster.ready_hooks.append(lambda node, ready: dropped.extend(ready.dropped_reads) if node.node_id == "a" else None)
    assert cluster.nodes["a"].raw.role is Role.LEADER  # still believes it
    cluster.nodes["a"].raw.read_index(b"stale")
    cluster.run(20)
    assert states == []  # no quorum answers a's heartbeats
    cluster.heal()
    cluster.run(2)
    assert states == [] and dropped == [b"stale"]
    assert cluster.nodes["a"].raw.status().role is Role.FOLLOWER


def test_a_deposed_leaders_heartbeat_answered_at_a_higher_term_confirms_nothing() -> None:
    cluster = Cluster(["a", "b", "c"], seed=44)
    cluster.elect("a")
    cluster.run(1)
    a = cluster.nodes["a"].raw
    a.read_index(b"r")
    cluster.process_all_readys()
    cluster.in_flight.clear()
    term = a.term
    a.step(Message(MessageType.APPEND_RESPONSE, "b", "a", term + 1, context=b"r"))
    a.step(Message(MessageType.APPEND_RESPONSE, "c", "a", term + 1, context=b"r"))
    ready = cluster.process_ready(cluster.nodes["a"])
    assert ready is not None and ready.read_states == () and ready.dropped_reads == (b"r",)


def test_read_index_on_a_follower_raises_with_the_leader() -> None:
    cluster = Cluster(["a", "b", "c"], seed=45)
    cluster.elect("a")
    with pytest.raises(NotLeader) as raised:
        cluster.nodes["b"].raw.read_index(b"x")
    assert raised.value.leader_id == "a"
