"""Heartbeats only to idle followers, and commits told by the next APPEND: property tests over random loads.

A leader heartbeats a follower only after a heartbeat interval in which it sent it nothing; any APPEND does. No
message goes just to announce a commit, yet every follower learns each commit within one heartbeat interval.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from testing.raft_sim_cluster import Cluster
from utils.raft.core import Message, MessageType, NodeId, Role


def _is_heartbeat(m: Message) -> bool:
    return m.type is MessageType.APPEND and not m.entries and not m.context


def test_under_steady_load_heartbeats_vanish_and_come_back_when_idle() -> None:
    cluster = Cluster(["a", "b", "c"], seed=3, heartbeat_ticks=2, election_ticks=10)
    cluster.elect("a")
    cluster.run(3)
    for tick in range(41):  # one proposal every tick: every follower is sent entries every tick
        if tick == 1:
            cluster.sent.clear()  # the first loaded tick may still be a due heartbeat's
        cluster.propose("a", f"put k v{tick}".encode())
        cluster.run(1)
    busy = [m for m in cluster.sent if m.sender == "a" and _is_heartbeat(m)]
    with_entries = [m for m in cluster.sent if m.sender == "a" and m.type is MessageType.APPEND and m.entries]
    assert len(with_entries) == 2 * 40
    # Not one empty APPEND in 40 ticks (20 intervals): no heartbeat, and no commit notice of its own ...
    assert busy == []
    # ... because each tick's APPEND carries the commit of the entry before it.
    assert all(m.commit == m.index for m in with_entries[2:])
    cluster.sent.clear()
    cluster.run(20)  # idle again: one heartbeat per follower per interval
    idle = [m for m in cluster.sent if m.sender == "a" and m.type is MessageType.APPEND]
    assert len(idle) == 2 * 10 and all(_is_heartbeat(m) for m in idle)


# A group's timing and size, for the property tests below (each adds its own load: proposals per tick).
_GROUPS = {
    "heartbeat_ticks": st.integers(1, 4),
    "election_extra": st.integers(1, 8),
    "voters": st.sampled_from([3, 5]),
    "seed": st.integers(0, 2**16),
}


def _elected(voters: int, seed: int, heartbeat_ticks: int, election_extra: int) -> tuple[Cluster, list[NodeId]]:
    """A simulated group of `voters` with n0 elected; its ids."""
    ids: list[NodeId] = [f"n{i}" for i in range(voters)]
    cluster = Cluster(ids, seed=seed, heartbeat_ticks=heartbeat_ticks, election_ticks=heartbeat_ticks + election_extra)
    cluster.elect("n0")
    return cluster, ids


@settings(max_examples=60, deadline=None)
@given(load=st.lists(st.integers(0, 3), min_size=20, max_size=80), **_GROUPS)
def test_a_follower_hears_every_interval_and_gets_no_heartbeat_it_does_not_need(
    heartbeat_ticks: int, election_extra: int, voters: int, load: list[int], seed: int
) -> None:
    cluster, ids = _elected(voters, seed, heartbeat_ticks, election_extra)
    term = cluster.nodes["n0"].raw.term
    followers: list[NodeId] = [n for n in ids if n != "n0"]
    last_append: dict[NodeId, int] = dict.fromkeys(followers, 0)  # the tick each follower last got an APPEND
    heartbeats = 0
    for tick, proposals in enumerate(load + [0] * (3 * heartbeat_ticks), start=1):
        for i in range(proposals):
            cluster.propose("n0", f"put k{i} v{tick}".encode())
        cluster.tick()
        start = len(cluster.sent)
        cluster.process_all_readys()  # the tick's own output (and this tick's proposals): heartbeats are here
        from_tick = len(cluster.sent)
        cluster.deliver_all()
        for position in range(start, len(cluster.sent)):
            m = cluster.sent[position]
            if m.sender != "n0" or m.type is not MessageType.APPEND:
                continue
            if position < from_tick and _is_heartbeat(m):
                assert tick - last_append[m.recipient] >= heartbeat_ticks, (
                    f"heartbeat to {m.recipient} at tick {tick}, {tick - last_append[m.recipient]} tick(s) "
                    f"after an APPEND; the interval is {heartbeat_ticks}"
                )
                heartbeats += 1
            last_append[m.recipient] = tick
        for follower in followers:
            # Raft §5.2 liveness: never longer than one heartbeat interval without a word from the leader.
            assert tick - last_append[follower] <= heartbeat_ticks, (follower, tick, last_append[follower])
    # Nobody campaigned: the leader and its term stood through the whole run.
    assert cluster.leader() == "n0" and cluster.nodes["n0"].raw.term == term
    assert all(cluster.nodes[n].raw.role is Role.FOLLOWER for n in followers)
    # The idle tail after the load: every follower got its heartbeats again.
    assert heartbeats >= len(followers)


@settings(max_examples=60, deadline=None)
@given(load=st.lists(st.integers(0, 3), min_size=5, max_size=60), **_GROUPS)
def test_every_follower_learns_each_commit_within_a_heartbeat_interval_without_a_message_of_its_own(
    heartbeat_ticks: int, election_extra: int, voters: int, load: list[int], seed: int
) -> None:
    cluster, ids = _elected(voters, seed, heartbeat_ticks, election_extra)
    leader = cluster.nodes["n0"].raw
    followers = [n for n in ids if n != "n0"]
    committed_at: dict[int, int] = {}  # commit index → the tick the leader reached it
    for tick, proposals in enumerate(load + [0] * (2 * heartbeat_ticks + 2), start=1):
        for i in range(proposals):
            cluster.propose("n0", f"put k{i} v{tick}".encode())
        cluster.tick()
        cluster.deliver_all()
        committed_at.setdefault(leader.commit_index, tick)
        for follower in followers:
            known = cluster.nodes[follower].raw.commit_index
            late = [index for index, at in committed_at.items() if index > known and tick - at > heartbeat_ticks]
            assert not late, f"{follower} knows commit {known} at tick {tick}; the leader committed {late} earlier"
    # The idle tail: every follower caught up with the leader's commit index.
    assert all(cluster.nodes[f].raw.commit_index == leader.commit_index for f in followers)
    empty = [m for m in cluster.sent if m.sender == "n0" and m.type is MessageType.APPEND and not m.entries]
    heartbeat_rounds = len(load) + 2 * heartbeat_ticks + 2
    assert len(empty) <= len(followers) * (heartbeat_rounds // heartbeat_ticks + 1)  # heartbeats alone, no notices
