"""What a node reports for drawing it (the Cluster tab): why its campaign began, its log's tail, and the bounded
history of elections it saw, with the winner's own reason."""

from __future__ import annotations

import pytest

from testing.raft_sim_cluster import Cluster
from utils.raft.core import CampaignReason, EntryKind, Role, Status
from utils.raft.core.elections import ElectionHistory


def _status(node: str, term: int, leader: str | None, campaign: CampaignReason | None = None) -> Status:
    return Status(node, Role.FOLLOWER, term, leader, 0, 0, 0, 0, {}, campaign=campaign)


def test_an_election_timeout_with_pre_vote_is_reported_as_pre_vote_and_a_transfer_as_transfer() -> None:
    cluster = Cluster(["a", "b", "c"], seed=61)
    cluster.run_until(lambda: cluster.leader() is not None)  # the election timers alone
    first = cluster.leader()
    assert first is not None and cluster.nodes[first].raw.status().campaign is CampaignReason.PRE_VOTE
    target = next(n for n in ("a", "b", "c") if n != first)
    cluster.run(1)
    cluster.nodes[first].raw.transfer_leadership(target)
    cluster.deliver_all()
    assert cluster.leader() == target
    assert cluster.nodes[target].raw.status().campaign is CampaignReason.TRANSFER


def test_a_node_that_never_campaigned_reports_no_reason() -> None:
    cluster = Cluster(["a", "b", "c"], seed=63)
    cluster.elect("a")
    assert cluster.nodes["b"].raw.status().campaign is None


def test_the_log_tail_is_the_newest_entries_oldest_first_with_their_terms_and_kinds() -> None:
    cluster = Cluster(["a", "b", "c"], seed=62)
    cluster.elect("a")
    for i in range(10):
        cluster.propose("a", f"put k{i} v".encode())
    cluster.deliver_all()
    raw = cluster.nodes["b"].raw
    tail = raw.log_tail(4)
    last = raw.status().last_index
    assert [e.index for e in tail] == [last - 3, last - 2, last - 1, last]
    assert all(e.kind is EntryKind.NORMAL and e.term == raw.term for e in tail)
    everything = raw.log_tail(1000)
    assert everything[0].index == 1 and everything[0].kind is EntryKind.NOOP  # the leader's entry on election
    assert len(everything) == last


def test_the_history_records_each_term_once_with_the_reason_only_from_the_winner() -> None:
    history = ElectionHistory(bound=3)
    assert history.observe(_status("a", 1, None), 10.0) == ()  # no leader known yet
    history.observe(_status("a", 1, "a", CampaignReason.TIMEOUT), 11.0)
    history.observe(_status("a", 1, "a", CampaignReason.TIMEOUT), 12.0)  # the same term again: no new record
    records = history.observe(_status("a", 2, "b", CampaignReason.TIMEOUT), 13.0)
    assert [(r.term, r.winner, r.at_s, r.why) for r in records] == [
        (1, "a", 11.0, CampaignReason.TIMEOUT),
        (2, "b", 13.0, None),  # a's own campaign reason says nothing about b's
    ]


def test_the_history_keeps_only_its_bound_of_newest_elections() -> None:
    history = ElectionHistory(bound=2)
    for term in range(1, 6):
        records = history.observe(_status("a", term, "b"), float(term))
    assert [r.term for r in records] == [4, 5]
    with pytest.raises(ValueError):
        ElectionHistory(bound=0)
