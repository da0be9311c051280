"""Raft §5.1: a message of an older term says nothing about the current term, so the core ignores it.

Acknowledgements and votes are the dangerous ones: counted as current, they commit or elect on stale evidence.
"""

from __future__ import annotations

from testing.raft_sim_cluster import Cluster
from utils.raft.core import Message, MessageType, Role


def test_an_append_response_of_an_older_term_moves_neither_the_match_index_nor_the_commit() -> None:
    """An ack a follower sent to this node in an earlier term names entries of that term's log.

    Here a proposal exists only on the leader; an old-term "I hold it" from b must not count as b's copy, or the
    leader would commit an entry only it holds (a later leader would then lose it).
    """
    cluster = Cluster(["a", "b", "c"], seed=61)
    cluster.elect("a")
    cluster.elect("b")
    cluster.elect("a")  # a leads again, two terms later
    a = cluster.nodes["a"].raw
    term = a.term
    assert term >= 3
    cluster.isolate("a")
    _, index = cluster.propose("a", b"put k only-on-a")
    cluster.process_all_readys()
    before = a.status()
    dropped = a.dropped_messages
    a.step(Message(MessageType.APPEND_RESPONSE, "b", "a", term - 1, index=index))
    a.step(Message(MessageType.APPEND_RESPONSE, "c", "a", term - 1, index=index))
    after = a.status()
    assert after.commit_index == before.commit_index < index
    assert after.match_index == before.match_index and after.match_index["b"] < index
    assert a.dropped_messages == dropped + 2  # counted as stale, not acted on
    assert a.role is Role.LEADER and a.term == term


def test_a_vote_granted_in_an_older_term_does_not_elect_a_candidate() -> None:
    """A grant names the term it was given in; in a later campaign the voter may have voted for someone else."""
    cluster = Cluster(["a", "b", "c"], seed=62)
    cluster.elect("a")
    b = cluster.nodes["b"].raw
    b.step(Message(MessageType.TIMEOUT_NOW, "a", "b", b.term))  # campaign at once, no PreVote
    cluster.process_all_readys()
    cluster.in_flight.clear()  # its vote requests are lost
    assert b.role is Role.CANDIDATE
    campaign_term = b.term
    b.step(Message(MessageType.VOTE_RESPONSE, "c", "b", campaign_term - 1))
    assert b.role is Role.CANDIDATE and b.term == campaign_term
    b.step(Message(MessageType.VOTE_RESPONSE, "c", "b", campaign_term))  # the same grant in this term elects
    assert b.status().role is Role.LEADER
