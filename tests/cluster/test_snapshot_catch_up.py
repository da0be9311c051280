"""A follower SIGKILLed while the log grows past two snapshot thresholds catches up by snapshot on restart (the
leader no longer holds the entries it lacks), and no replica's log ever holds much more than a threshold."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.raft_kv_client import KvClient, Outcome
from testing.raft_kv_cluster import KvCluster
from tests.cluster.conftest import print_logs
from tests.cluster.kv import caught_up, read_log, status, wait_until

pytestmark = [pytest.mark.fleet, pytest.mark.timeout(90)]
SNAPSHOT_EVERY = 40
# Compaction runs once applied - snapshot index reaches the threshold: what it retains is the threshold plus the
# entries appended but not yet applied (the writes here are sequential: one or two).
LOG_ENTRIES_MAX = SNAPSHOT_EVERY + 4


@pytest.fixture
def small_snapshots(tmp_path: Path) -> Iterator[KvCluster]:
    group = KvCluster(tmp_path, snapshot_every=SNAPSHOT_EVERY)
    group.start_all()
    try:
        yield group
    finally:
        group.close()
        print_logs(group)


def test_a_follower_down_past_two_snapshot_thresholds_catches_up_by_snapshot_and_every_log_stays_bounded(
    small_snapshots: KvCluster,
) -> None:
    cluster = small_snapshots
    leader = cluster.wait_for_leader(timeout_s=20)
    follower = next(n for n in cluster.replicas if n != leader)
    client = KvClient(cluster.addresses)
    longest: dict[str, int] = {}
    try:
        assert client.write("put", "before", "x") is Outcome.OK
        wait_until(lambda: caught_up(cluster, follower, leader), "the follower to apply the first write")
        held = read_log(cluster, follower).last_index
        cluster.kill(follower)
        for i in range(2 * SNAPSHOT_EVERY + 20):
            assert client.write("put", f"k{i % 7}", str(i), node_id=leader) is Outcome.OK
            for n in (leader, *(m for m in cluster.replicas if m not in (leader, follower))):
                longest[n] = max(longest.get(n, 0), status(cluster, n).log_entries)
        snapshot_index = status(cluster, leader).snapshot_index
        # Two thresholds past what the follower holds: the entries it lacks exist only in the leader's snapshot.
        assert snapshot_index >= held + SNAPSHOT_EVERY + 1, (snapshot_index, held)
        assert read_log(cluster, leader).entries[0].index > held + 1
        cluster.start(follower)
        wait_until(lambda: caught_up(cluster, follower, leader), "the restarted follower to catch up", 20)
        digests = cluster.wait_until_converged()
    finally:
        client.close()
    mine = status(cluster, follower)
    assert mine.snapshot_index >= snapshot_index, "the follower caught up without installing the snapshot"
    assert len({d.sha256 for d in digests.values()}) == 1
    for n in cluster.replicas:
        longest[n] = max(longest.get(n, 0), status(cluster, n).log_entries, len(read_log(cluster, n).entries))
    print(f"held {held}; leader's snapshot at {snapshot_index}; longest logs {longest}")
    assert max(longest.values()) <= LOG_ENTRIES_MAX, longest
