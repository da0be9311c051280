"""The Status RPC carries what the Cluster tab draws: the log's tail with terms and kinds, the leader's match index
per follower, and the elections each replica saw (the winner's with its reason); a new leader adds a term."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services.raft.local_cluster import LocalCluster
from utils.pb.raft import raft_pb2, raft_pb2_grpc
from utils.rpc.client import open_channel

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    group = LocalCluster(tmp_path)
    group.start_all()
    yield group
    group.close()


def _status(cluster: LocalCluster, node_id: str) -> raft_pb2.StatusReply:
    with open_channel(cluster.members[node_id].address, node_id) as channel:
        reply: raft_pb2.StatusReply = raft_pb2_grpc.RaftStub(channel).Status(raft_pb2.StatusRequest(), timeout=2)
    return reply


def test_the_status_carries_the_log_tail_match_indexes_and_elections(cluster: LocalCluster) -> None:
    leader = cluster.wait_for_leader()
    last = 0
    for i in range(5):
        last = cluster.write(f"k{i}", "v")
    cluster.wait_until_applied_everywhere(last)
    cluster.wait_until(lambda: min(_status(cluster, leader).match_index.values(), default=0) >= last, what="acks")
    reply = _status(cluster, leader)
    tail = [(e.index, e.kind) for e in reply.log_tail]
    assert tail[-1] == (reply.last_index, "normal") and [i for i, _ in tail] == list(range(tail[0][0], last + 1))
    assert all(e.term <= reply.term for e in reply.log_tail)
    assert set(reply.match_index) == set(cluster.members)  # the leader counts itself too
    assert all(reply.match_index[n] == last for n in cluster.members)
    own = [e for e in reply.elections if e.term == reply.term]
    assert [(e.winner, e.why) for e in own] == [(leader, "pre-vote")]
    follower = next(n for n in cluster.members if n != leader)
    seen = _status(cluster, follower)
    assert [(e.term, e.winner, e.why) for e in seen.elections][-1] == (reply.term, leader, "")
    assert not seen.match_index  # a follower tracks nobody


def test_a_graceful_stop_shows_a_transfer_in_a_higher_term(cluster: LocalCluster) -> None:
    leader = cluster.wait_for_leader()
    term = _status(cluster, leader).term
    cluster.stop(leader, transfer_leadership=True)
    successor = cluster.wait_for_leader()
    reply = _status(cluster, successor)
    assert reply.term > term
    assert (reply.elections[-1].term, reply.elections[-1].winner, reply.elections[-1].why) == (
        reply.term,
        successor,
        "transfer",
    )
