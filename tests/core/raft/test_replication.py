"""Paper tests of log replication: Raft §5.3 (log matching, conflicts), §5.4.2 (Figure 8), flow control."""

from __future__ import annotations

from testing.raft_sim_cluster import Cluster
from utils.raft.core import (
    Config,
    Entry,
    EntryKind,
    HardState,
    Message,
    MessageType,
    PersistedState,
    Role,
)


def _entries(terms: list[int]) -> tuple[Entry, ...]:
    return tuple(Entry(t, i + 1, EntryKind.NORMAL, f"put e{i + 1} t{t}".encode()) for i, t in enumerate(terms))


def test_committed_entries_are_applied_in_order_on_every_node() -> None:
    """Raft §5.3: an entry held by a majority commits and every node applies the same sequence."""
    cluster = Cluster(["a", "b", "c"], seed=1)
    cluster.elect("b")
    commands = [f"put k{i} v{i}".encode() for i in range(20)]
    for command in commands:
        cluster.propose("b", command)
    cluster.run(2)  # heartbeats carry the final commit index
    for node_id in cluster.ids:
        assert cluster.committed_commands(node_id) == commands


def test_a_partitioned_leader_cannot_commit() -> None:
    """Raft §5.3: with only a minority reachable, a leader's entries stay uncommitted and unapplied."""
    cluster = Cluster(["a", "b", "c", "d", "e"], seed=2, check_quorum=False)
    cluster.elect("a")
    cluster.partition(["a", "b"], ["c", "d", "e"])
    commit = cluster.nodes["a"].raw.status().commit_index
    term, index = cluster.propose("a", b"put k lost")
    cluster.run(50)
    assert cluster.nodes["a"].raw.role is Role.LEADER
    assert cluster.nodes["a"].raw.status().commit_index == commit < index
    assert cluster.nodes["b"].raw.status().last_index == index  # replicated, yet not committed
    assert all(b"put k lost" not in cluster.committed_commands(n) for n in cluster.ids)


def test_no_quorum_means_no_commit() -> None:
    """Raft §5.3: with a majority of nodes crashed, a proposal never commits."""
    cluster = Cluster(["a", "b", "c"], seed=3, check_quorum=False)
    cluster.elect("a")
    cluster.crash("b")
    cluster.crash("c")
    _, index = cluster.propose("a", b"put k v")
    cluster.run(30)
    assert cluster.nodes["a"].raw.status().commit_index < index
    assert cluster.committed_commands("a") == []


def test_figure_8_an_old_term_entry_on_a_majority_is_not_committed_by_counting() -> None:
    """Raft §5.4.2 / Figure 8, played out on five nodes.

    An entry of an old term stored on a majority is not committed, and indeed a later leader
    may overwrite it; no node ever applies it.
    """
    cluster = Cluster(["s1", "s2", "s3", "s4", "s5"], seed=8, entries_per_message_max=1)
    cluster.elect("s1")  # index 1: s1's NOOP, everywhere
    # (a) s1 replicates index 2 (of its term) to s2 only, then crashes.
    cluster.partition(["s1", "s2"], ["s3", "s4", "s5"])
    _, x_index = cluster.propose("s1", b"put k x")
    cluster.deliver_all()
    assert x_index == 2 and cluster.nodes["s2"].raw.status().last_index == 2
    cluster.crash("s1")
    cluster.heal()
    # (b) s5 wins with votes from s3, s4 and itself; its NOOP at index 2 reaches nobody.
    cluster.partition(["s5", "s3", "s4"], ["s1", "s2"])
    cluster.elect("s5", keep=lambda m: m.type is not MessageType.APPEND)
    cluster.crash("s5")
    cluster.heal()
    # (c) s1 restarts and is elected by s1, s2, s3; it brings s3 up to index 2, but its own-term
    # NOOP at index 3 reaches only s2.
    cluster.restart("s1")
    cluster.partition(["s1", "s2", "s3"], ["s4", "s5"])
    s3 = cluster.nodes["s3"].raw

    def not_past_2_for_s3(m: Message) -> bool:
        # s3 first rejects the probe at index 2 it lacks; once it holds 2, index 3 never arrives.
        return not (
            m.recipient == "s3"
            and m.type is MessageType.APPEND
            and m.entries
            and m.entries[-1].index >= 3
            and s3.status().last_index >= 2
        )

    cluster.elect("s1", keep=not_past_2_for_s3)
    s1 = cluster.nodes["s1"].raw
    assert s1.status().match_index == {"s1": 3, "s2": 3, "s3": 2, "s4": 0, "s5": 0}
    assert s1.status().commit_index == 1, "index 2 is on a majority but of an old term: not committed"
    # (d) s1 crashes; s5 (last term above index 2's) is elected by s3, s4, s5 and overwrites index 2.
    cluster.crash("s1")
    cluster.heal()
    cluster.restart("s5")
    cluster.elect("s5")
    cluster.run(3)
    s5_index_2 = cluster.nodes["s5"].storage.entries[1]
    assert s5_index_2.kind is EntryKind.NOOP
    for node_id in ("s2", "s3", "s4", "s5"):
        assert cluster.nodes[node_id].storage.entries[1] == s5_index_2
        assert b"put k x" not in cluster.committed_commands(node_id)


def test_figure_8_commit_rule_in_isolation() -> None:
    """Raft §5.4.2: index 2 (old term) on 3 of 5 nodes does not commit until index 3 (own term) does."""
    ids = ("s1", "s2", "s3", "s4", "s5")
    old_log = _entries([1, 2])
    s1_state = PersistedState(HardState(term=3, vote="s1"), None, old_log)
    from random import Random

    from utils.raft.core import RawNode

    node = RawNode(Config("s1", ids, entries_per_message_max=1), Random(0), s1_state)
    node.step(Message(MessageType.TIMEOUT_NOW, "s2", "s1", 3))
    for voter in ("s2", "s3"):
        node.step(Message(MessageType.VOTE_RESPONSE, voter, "s1", 4))
    assert node.role is Role.LEADER and node.term == 4
    assert node.status().last_index == 3  # the NOOP of term 4
    # s2 and s3 acknowledge index 2: a majority (s1, s2, s3) holds the term-2 entry.
    for follower in ("s2", "s3"):
        node.step(Message(MessageType.APPEND_RESPONSE, follower, "s1", 4, index=2))
    assert node.status().commit_index == 0, "an old-term entry must not commit by counting replicas"
    node.step(Message(MessageType.APPEND_RESPONSE, "s2", "s1", 4, index=3))
    assert node.status().commit_index == 0
    node.step(Message(MessageType.APPEND_RESPONSE, "s3", "s1", 4, index=3))
    assert node.status().commit_index == 3  # the own-term entry commits, and index 2 with it


def _cluster_from_logs(logs: dict[str, list[int]], terms: dict[str, int], **config: object) -> Cluster:
    """A cluster whose nodes restart from the given logs (lists of entry terms)."""
    cluster = Cluster(sorted(logs), seed=11, **config)
    for node_id, entry_terms in logs.items():
        storage = cluster.nodes[node_id].storage
        storage.entries = list(_entries(entry_terms))
        storage.hard_state = HardState(term=terms[node_id])
        cluster.restart(node_id)
    return cluster


def test_fast_backtracking_of_a_long_divergent_follower_takes_a_round_trip_per_term() -> None:
    """Raft §5.3 optimisation (etcd's hint): rejections skip a whole term, not one entry."""
    shared = [1] * 10
    leader_log = shared + [3] * 50 + [5] * 50
    follower_log = shared + [2] * 50 + [4] * 50  # 100 entries the leader never had
    cluster = _cluster_from_logs({"a": leader_log, "b": follower_log, "c": leader_log}, {"a": 5, "b": 4, "c": 5})
    cluster.isolate("b")
    cluster.elect("a")
    cluster.heal()
    cluster.sent.clear()
    cluster.run(1)  # the heartbeat round starts probing b
    rejections = [m for m in cluster.sent if m.type is MessageType.APPEND_RESPONSE and m.reject and m.sender == "b"]
    assert 1 <= len(rejections) <= 3, rejections  # naive backtracking would need ~100
    print(f"backtracking: {len(rejections)} rejected round trips for 100 divergent entries")
    assert [e.term for e in cluster.nodes["b"].storage.entries] == leader_log + [6]
    assert cluster.nodes["b"].raw.status().commit_index == 111


def test_batching_many_proposals_between_two_readys_go_in_one_append() -> None:
    """Proposals between two Readys share one APPEND per follower (and one fsync)."""
    cluster = Cluster(["a", "b", "c"], seed=12)
    cluster.elect("a")
    leader = cluster.nodes["a"]
    for i in range(100):
        cluster.propose("a", f"put k v{i}".encode())
    ready = leader.raw.ready()
    appends = [m for m in ready.messages if m.type is MessageType.APPEND]
    assert sorted(m.recipient for m in appends) == ["b", "c"]
    assert all(len(m.entries) == 100 for m in appends)
    assert len(ready.entries) == 100  # one durable write for all of them
    leader.raw.advance(ready)


def test_pipelining_is_bounded_by_the_inflight_window_and_batch_size() -> None:
    """etcd Progress: a replicating follower gets up to inflight_messages_max APPENDs unacknowledged."""
    cluster = Cluster(["a", "b", "c"], seed=13, entries_per_message_max=10, inflight_messages_max=4)
    cluster.elect("a")
    leader = cluster.nodes["a"]
    for i in range(100):
        cluster.propose("a", f"put k v{i}".encode())
    ready = leader.raw.ready()
    to_b = [m for m in ready.messages if m.recipient == "b" and m.type is MessageType.APPEND]
    assert [len(m.entries) for m in to_b] == [10, 10, 10, 10]
    leader.raw.advance(ready)
    cluster.in_flight.extend(ready.messages)
    cluster.deliver_all()
    assert cluster.nodes["b"].raw.status().last_index == 101  # acks reopened the window


def test_quiet_when_idle_one_heartbeat_per_follower_per_interval() -> None:
    """An idle leader sends exactly one heartbeat per follower per heartbeat interval (plus answers)."""
    cluster = Cluster(["a", "b", "c", "d", "e"], seed=14, heartbeat_ticks=2)
    cluster.elect("a")
    cluster.propose("a", b"put k v")
    cluster.run(5)
    cluster.sent.clear()
    cluster.run(100)
    heartbeats = [m for m in cluster.sent if m.type is MessageType.APPEND]
    assert len(heartbeats) == 4 * 50 and all(not m.entries for m in heartbeats)
    assert len(cluster.sent) == 2 * len(heartbeats)  # each answered once, nothing else
