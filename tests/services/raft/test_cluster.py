"""A 3-node Raft group in one process over real gRPC on loopback: election, replication, reads, transfer,
restart, snapshots and back-pressure, through the API a service uses."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.raft_kv_state import KvStateMachine, encode_command
from tests.services.raft.local_cluster import LocalCluster
from utils.pb.raft import raft_pb2, raft_pb2_grpc
from utils.raft.core import Role
from utils.raft.errors import NotLeader, RaftUnavailable
from utils.raft.options import RaftOptions
from utils.rpc.client import open_channel

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    group = LocalCluster(tmp_path)
    group.start_all()
    yield group
    group.close()


def test_one_leader_is_elected_and_every_replica_follows_it(cluster: LocalCluster) -> None:
    leader = cluster.wait_for_leader()
    statuses = [cluster.node(n).status() for n in cluster.members]
    assert [s.role for s in statuses].count(Role.LEADER) == 1
    assert {s.leader_address for s in statuses} == {cluster.members[leader].address}
    assert (Role.LEADER, statuses[0].term) in cluster.members[leader].roles  # the listener heard it


def test_proposals_commit_in_order_and_apply_on_every_replica(cluster: LocalCluster) -> None:
    indexes = [cluster.write(f"k{i % 3}", f"v{i}") for i in range(30)]
    assert indexes == sorted(indexes) and len(set(indexes)) == 30  # the result is apply()'s: the log index
    cluster.wait_until_applied_everywhere(indexes[-1])
    states = [cluster.members[n].state.data for n in cluster.members]
    assert states[0] == {"k0": "v27", "k1": "v28", "k2": "v29"}
    assert states[0] == states[1] == states[2]


def test_a_follower_refuses_writes_and_reads_and_names_the_leader(cluster: LocalCluster) -> None:
    leader = cluster.wait_for_leader()
    follower = next(n for n in cluster.members if n != leader)
    with pytest.raises(NotLeader) as refused_write:
        cluster.node(follower).propose(encode_command("put", "k", "v"))
    assert (refused_write.value.leader_id, refused_write.value.leader_address) == (
        leader,
        cluster.members[leader].address,
    )
    with pytest.raises(NotLeader):
        cluster.node(follower).read(lambda sm: sm.get("k"))


def test_reads_reflect_every_write_acknowledged_before_them(cluster: LocalCluster) -> None:
    acknowledged: list[int] = []
    stop = threading.Event()

    def writer() -> None:
        for i in range(1, 10_000):
            if stop.is_set():
                return
            cluster.write("counter", str(i))
            acknowledged.append(i)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        cluster.wait_until(lambda: len(acknowledged) >= 3, what="first writes")
        for _ in range(40):
            floor = acknowledged[-1]
            seen = int(cluster.call_leader(lambda node: node.read(lambda sm: sm.get("counter"))))
            assert seen >= floor, f"read {seen} after write {floor} was acknowledged: a stale read"
    finally:
        stop.set()
        thread.join()


def test_graceful_stop_of_the_leader_transfers_leadership_without_an_election(cluster: LocalCluster) -> None:
    cluster.write("before", "transfer")
    old = cluster.wait_for_leader()
    old_term = cluster.node(old).status().term
    cluster.stop(old, transfer_leadership=True)
    # stop() returns once a successor leads: no election timeout passes with the group leaderless.
    successors = [n for n in cluster.running() if cluster.node(n).status().role is Role.LEADER]
    assert len(successors) == 1
    # TIMEOUT_NOW skips PreVote: exactly one term later, no failed campaigns in between.
    assert cluster.node(successors[0]).status().term == old_term + 1
    cluster.write("after", "transfer")
    assert cluster.call_leader(lambda node: node.read(lambda sm: sm.get("before"))) == "transfer"


def test_a_restarted_follower_catches_up_from_a_snapshot(tmp_path: Path) -> None:
    cluster = LocalCluster(
        tmp_path, options=RaftOptions(tick_ms=25, heartbeat_ticks=2, election_ticks=10, snapshot_every_entries=10)
    )
    cluster.start_all()
    try:
        leader = cluster.wait_for_leader()
        follower = next(n for n in cluster.members if n != leader)
        cluster.write("a", "1")
        cluster.stop(follower)
        last = max(cluster.write(f"k{i}", str(i)) for i in range(35))
        leader_status = cluster.node(cluster.wait_for_leader()).status()
        assert leader_status.snapshot_index >= 20 and leader_status.log_entries < last  # the log was compacted
        cluster.start(follower)
        cluster.wait_until_applied_everywhere(last)
        caught_up = cluster.node(follower).status()
        assert caught_up.snapshot_index > 0  # it was sent the leader's snapshot, not the compacted entries
        assert cluster.members[follower].state.data == cluster.members[leader].state.data
    finally:
        cluster.close()


def test_a_full_restart_rebuilds_the_state_from_disk(cluster: LocalCluster) -> None:
    last = max(cluster.write(f"k{i}", str(i)) for i in range(12))
    cluster.wait_until_applied_everywhere(last)
    expected = dict(cluster.members["n1"].state.data)
    for node_id in list(cluster.members):
        cluster.stop(node_id)
    cluster.start_all()
    cluster.wait_until_applied_everywhere(last)
    assert all(cluster.members[n].state.data == expected for n in cluster.members)
    assert cluster.call_leader(lambda node: node.read(lambda sm: sm.get("k11"))) == "11"


def test_the_status_rpc_reports_the_replica(cluster: LocalCluster) -> None:
    leader = cluster.wait_for_leader()
    last = cluster.write("k", "v")
    with open_channel(cluster.members[leader].address, leader) as channel:
        reply = raft_pb2_grpc.RaftStub(channel).Status(raft_pb2.StatusRequest(), timeout=2)
    assert (reply.node_id, reply.role, reply.leader_id) == (leader, "leader", leader)
    assert reply.commit_index >= last and reply.applied_index >= last and reply.log_entries >= last


class BlockingStateMachine(KvStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Event()

    def apply(self, index: int, command: bytes) -> int:
        self.entered.set()
        self.release.wait(timeout=10)
        return super().apply(index, command)


def test_a_full_inbox_refuses_new_work_instead_of_queueing_it(tmp_path: Path) -> None:
    cluster = LocalCluster(
        tmp_path, size=1, options=RaftOptions(tick_ms=25, heartbeat_ticks=2, election_ticks=10, inbox_max=2)
    )
    blocking = BlockingStateMachine()
    cluster.start("n1", blocking)
    try:
        cluster.wait_for_leader()
        node = cluster.node("n1")
        first = threading.Thread(target=lambda: node.propose(encode_command("put", "a", "1"), timeout_s=10))
        first.start()
        assert blocking.entered.wait(timeout=10)  # the driver is stuck applying: nothing drains the inbox
        queued_results: list[int] = []
        waiting = [
            threading.Thread(
                target=lambda i=i: queued_results.append(
                    node.propose(encode_command("put", f"q{i}", "x"), timeout_s=10)
                )
            )
            for i in range(2)
        ]
        for thread in waiting:
            thread.start()
        cluster.wait_until(lambda: node.status().inbox_queued >= 2, what="a full inbox")  # inbox_max=2
        with pytest.raises(RaftUnavailable) as refused:
            node.propose(encode_command("put", "b", "2"))
        assert refused.value.overloaded and not refused.value.outcome_unknown
        blocking.release.set()
        first.join()
        for thread in waiting:
            thread.join()
        assert len(queued_results) == 2  # what was admitted still completes
        assert node.read(lambda sm: sm.get("b")) == ""  # what was refused never ran
    finally:
        blocking.release.set()
        cluster.close()


def test_a_callers_misuse_raises_to_the_caller_and_the_node_keeps_working(cluster: LocalCluster) -> None:
    leader = cluster.node(cluster.wait_for_leader())
    with pytest.raises(TypeError):
        leader.propose("not bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a voter"):
        leader.transfer_leadership("nobody", timeout_s=5)
    assert cluster.write("still", "working") > 0
