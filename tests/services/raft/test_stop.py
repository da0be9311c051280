"""Stopping a leader with no one to hand over to: stop() returns at once instead of waiting out the transfer.

CheckQuorum is off here, so the lone replica stays leader and stop() really faces the transfer decision.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from tests.services.raft.local_cluster import LocalCluster
from utils.raft.core import Role
from utils.raft.options import RaftOptions

pytestmark = pytest.mark.timeout(60)

TRANSFER_TIMEOUT_S = 30.0  # long, so a stop that waits for it cannot pass by luck
ALONE = RaftOptions(
    tick_ms=25, heartbeat_ticks=2, election_ticks=20, check_quorum=False, transfer_timeout_s=TRANSFER_TIMEOUT_S
)


def _stop_followers_raft_only(cluster: LocalCluster, leader: str) -> None:
    """Stops the followers' Raft nodes but not their servers: the RPC then fails at once, as in a fleet stop."""
    for node_id in cluster.running():
        if node_id != leader:
            cluster.node(node_id).stop(transfer_leadership=True)


def _timed_stop(cluster: LocalCluster, leader: str) -> float:
    assert cluster.node(leader).status().role is Role.LEADER
    started = time.monotonic()
    cluster.node(leader).stop(transfer_leadership=True)
    return time.monotonic() - started


def test_the_last_replica_stops_without_waiting_for_a_transfer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cluster = LocalCluster(tmp_path, options=ALONE)
    cluster.start_all()
    try:
        leader = cluster.wait_for_leader()
        cluster.write("k", "v")
        for node_id in [n for n in cluster.running() if n != leader]:
            cluster.stop(node_id)
        node = cluster.node(leader)
        silence_s = ALONE.election_ticks * ALONE.tick_s
        cluster.wait_until(
            lambda: all(
                time.monotonic() - node.status().peer_heard_at_s[p] > silence_s for p in cluster.members if p != leader
            ),
            what="the peers to go quiet",
        )
        with caplog.at_level(logging.INFO, logger="utils.raft.node"):
            elapsed_s = _timed_stop(cluster, leader)
        assert elapsed_s < TRANSFER_TIMEOUT_S / 2, f"stop() waited {elapsed_s:.1f} s for a transfer to nobody"
        assert any("no live follower" in r.getMessage() for r in caplog.records)
    finally:
        for member in cluster.members.values():
            if member.server is not None:
                member.server.stop(grace=None).wait()


def test_a_leader_whose_followers_stop_at_the_same_time_gives_up_the_transfer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cluster = LocalCluster(tmp_path, options=ALONE)
    cluster.start_all()
    try:
        leader = cluster.wait_for_leader()
        cluster.write("k", "v")
        _stop_followers_raft_only(cluster, leader)  # the leader heard from them a moment ago
        with caplog.at_level(logging.INFO, logger="utils.raft.node"):
            elapsed_s = _timed_stop(cluster, leader)
        assert elapsed_s < TRANSFER_TIMEOUT_S / 2, f"stop() waited {elapsed_s:.1f} s for a stopped target"
        messages = [r.getMessage() for r in caplog.records]
        assert any(m.startswith(("leadership transfer target unreachable", "no live follower")) for m in messages)
    finally:
        for member in cluster.members.values():
            if member.server is not None:
                member.server.stop(grace=None).wait()
