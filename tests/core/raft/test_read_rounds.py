"""ReadIndex (Raft thesis §6.4): a read is confirmed only by a heartbeat round sent after the read arrived.

An answer to an earlier round proves leadership at an earlier moment, before this read's commit index was taken.
"""

from __future__ import annotations

from testing.raft_sim_cluster import Cluster
from utils.raft.core import Message, MessageType, ReadState


def _take_in_flight(cluster: Cluster) -> list[Message]:
    messages, cluster.in_flight = cluster.in_flight, []
    return messages


def _answer(cluster: Cluster, heartbeats: list[Message]) -> None:
    """Delivers a heartbeat round to the followers and their answers back to the leader."""
    for message in heartbeats:
        cluster.deliver(message)
    cluster.process_all_readys()
    for message in _take_in_flight(cluster):
        cluster.deliver(message)
    cluster.process_all_readys()


def test_answers_to_a_round_sent_before_a_read_do_not_release_it() -> None:
    cluster = Cluster(["a", "b", "c"], seed=63)
    cluster.elect("a")
    cluster.propose("a", b"put k v")
    cluster.run(1)
    states: list[ReadState] = []
    cluster.ready_hooks.append(lambda node, ready: states.extend(ready.read_states) if node.node_id == "a" else None)
    a = cluster.nodes["a"]
    a.raw.read_index(b"r1")
    cluster.process_ready(a)
    round1 = _take_in_flight(cluster)
    assert round1 and all(m.type is MessageType.APPEND and m.context == b"r1" for m in round1)
    a.raw.read_index(b"r2")  # arrives while round 1 is on the wire
    cluster.process_ready(a)
    round2 = _take_in_flight(cluster)
    assert round2 and all(m.context == b"r2" for m in round2)
    _answer(cluster, round1)
    assert [s.context for s in states] == [b"r1"]  # r2 waits for a round that started after it
    _answer(cluster, round2)
    assert [s.context for s in states] == [b"r1", b"r2"]


def test_answers_to_a_later_round_release_every_earlier_read() -> None:
    cluster = Cluster(["a", "b", "c"], seed=64)
    cluster.elect("a")
    cluster.run(1)
    states: list[ReadState] = []
    cluster.ready_hooks.append(lambda node, ready: states.extend(ready.read_states) if node.node_id == "a" else None)
    a = cluster.nodes["a"]
    a.raw.read_index(b"r1")
    cluster.process_ready(a)
    _take_in_flight(cluster)  # round 1 is lost
    a.raw.read_index(b"r2")
    cluster.process_ready(a)
    _answer(cluster, _take_in_flight(cluster))
    assert [s.context for s in states] == [b"r1", b"r2"]


def test_a_new_leader_serves_a_read_only_at_an_index_covering_its_predecessors_writes() -> None:
    """Until an entry of its own term commits, a new leader's commit index may lag what was already committed:
    a read registered at that index could miss an acknowledged write. The read waits for the leader's NOOP."""
    cluster = Cluster(["a", "b", "c"], seed=65)
    cluster.elect("a")
    cluster.propose("a", b"put k v1")
    cluster.run(1)
    cluster.elect("b", keep=lambda m: m.type is not MessageType.APPEND)  # b's NOOP is lost on the way
    b = cluster.nodes["b"].raw
    noop_index = b.status().last_index
    assert b.status().commit_index < noop_index
    states: list[ReadState] = []
    cluster.ready_hooks.append(lambda node, ready: states.extend(ready.read_states) if node.node_id == "b" else None)
    b.read_index(b"r")
    cluster.run(5)
    assert [s.context for s in states] == [b"r"]
    assert states[0].index >= noop_index


def test_in_five_nodes_one_answer_does_not_confirm_a_read() -> None:
    cluster = Cluster(["a", "b", "c", "d", "e"], seed=66)
    cluster.elect("a")
    cluster.run(1)
    states: list[ReadState] = []
    cluster.ready_hooks.append(lambda node, ready: states.extend(ready.read_states) if node.node_id == "a" else None)
    a = cluster.nodes["a"]
    a.raw.read_index(b"r")
    cluster.process_ready(a)
    round1 = _take_in_flight(cluster)
    _answer(cluster, [m for m in round1 if m.recipient == "b"])
    assert states == []  # the leader and b are two of five
    _answer(cluster, [m for m in round1 if m.recipient == "c"])
    assert [s.context for s in states] == [b"r"]  # three of five
