"""Paper tests of durability and compaction: Figure 2's persistent state, §7 snapshots."""

from __future__ import annotations

from testing.raft_sim_cluster import Cluster
from utils.raft.core import MessageType, Role


def test_full_cluster_restart_keeps_every_committed_entry() -> None:
    """Figure 2: term, vote and log persisted from Readys let a whole cluster restart safely."""
    cluster = Cluster(["a", "b", "c"], seed=21)
    cluster.elect("a")
    first = [f"put k{i} v{i}".encode() for i in range(10)]
    for command in first:
        cluster.propose("a", command)
    cluster.run(2)
    terms = {n: cluster.nodes[n].raw.term for n in cluster.ids}
    for node_id in cluster.ids:
        cluster.crash(node_id)
    for node_id in cluster.ids:
        cluster.restart(node_id)
        node = cluster.nodes[node_id]
        assert node.raw.term == terms[node_id] and node.raw.role is Role.FOLLOWER
        assert node.raw.status().commit_index == 11  # commit index is part of the hard state
    cluster.run(1)  # the restarted nodes re-apply their committed log
    for node_id in cluster.ids:
        assert cluster.committed_commands(node_id) == first
    cluster.run_until(lambda: cluster.leader() is not None)
    leader = cluster.leader()
    assert leader is not None and cluster.nodes[leader].raw.term > max(terms.values())
    cluster.propose(leader, b"put after restart")
    cluster.run(2)
    for node_id in cluster.ids:
        assert cluster.nodes[node_id].machine.data["after"] == "restart"
        assert cluster.nodes[node_id].machine.data["k9"] == "v9"


def test_unpersisted_entries_are_lost_on_crash_but_nothing_acknowledged_is() -> None:
    """Persist-before-send: what a crash loses was never sent, so no peer relied on it."""
    cluster = Cluster(["a", "b", "c"], seed=22)
    cluster.elect("a")
    cluster.propose("a", b"put k durable")
    cluster.deliver_all()
    cluster.propose("a", b"put k volatile")  # no Ready handled before the crash
    cluster.crash("a")
    cluster.restart("a")
    assert cluster.nodes["a"].raw.status().last_index == 2
    assert all(cluster.nodes[n].storage.entries[-1].data == b"put k durable" for n in cluster.ids)


def test_snapshot_is_sent_to_a_lagging_follower_and_installed() -> None:
    """Raft §7: a follower whose next entry was compacted away gets the snapshot, then the rest."""
    cluster = Cluster(["a", "b", "c"], seed=23)
    cluster.compact_every_entries = 10
    cluster.elect("a")
    cluster.isolate("c")
    for i in range(35):
        cluster.propose("a", f"append k {i},".encode())
        cluster.deliver_all()
    leader_status = cluster.nodes["a"].raw.status()
    assert leader_status.snapshot_index >= 30 and leader_status.first_index > 2
    cluster.heal()
    cluster.sent.clear()
    cluster.run(3)
    snapshots = [m for m in cluster.sent if m.type is MessageType.SNAPSHOT and m.recipient == "c"]
    assert len(snapshots) == 1
    c = cluster.nodes["c"]
    assert c.storage.snapshot is not None and c.storage.snapshot.index >= 30
    assert c.machine.data == cluster.nodes["a"].machine.data
    assert c.machine.data["k"] == "".join(f"{i}," for i in range(35))
    assert c.raw.status().commit_index == leader_status.last_index
    # The installed snapshot survives a restart of the follower.
    cluster.crash("c")
    cluster.restart("c")
    cluster.run(2)
    assert cluster.nodes["c"].machine.data == cluster.nodes["a"].machine.data


def test_compact_refuses_unapplied_indexes() -> None:
    """A caller's misuse raises: the application cannot snapshot what it has not applied."""
    cluster = Cluster(["a", "b", "c"], seed=24)
    cluster.elect("a")
    raw = cluster.nodes["a"].raw
    applied = raw.status().applied_index
    try:
        raw.compact(applied + 5, b"")
    except ValueError as error:
        assert "applied" in str(error)
    else:
        raise AssertionError("compact beyond applied must raise")
