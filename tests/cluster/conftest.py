"""Fixtures of the real-cluster scenarios: three raft_kv_server processes on loopback, each on an address and
in a cgroup of its own so one can be cut off (needs root, iptables and cgroup v2; skipped otherwise)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from chaos.faults.isolation import LoopbackIsolation, unavailable_reason
from testing.raft_kv_cluster import KvCluster
from tests.cluster.kv import steady

LOG_TAIL_CHARS = 3000
NO_SNAPSHOTS = 1_000_000  # a log repaired by backtracking, never by a snapshot (test_snapshot_catch_up has those)


def print_logs(cluster: KvCluster) -> None:
    for replica in cluster.replicas.values():  # pytest shows it only when a test failed
        print(
            f"---- {replica.node_id} log (tail) ----\n{replica.log_path.read_text(errors='replace')[-LOG_TAIL_CHARS:]}"
        )


@pytest.fixture(scope="module")
def isolatable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KvCluster]:
    """One group for a module's scenarios; each test starts from `steady()` (all running, healed, caught up)."""
    problem = unavailable_reason()
    if problem is not None:
        pytest.skip(f"isolation unavailable: {problem}")
    group = KvCluster(
        tmp_path_factory.mktemp("kv"),
        snapshot_every=NO_SNAPSHOTS,
        isolation=LoopbackIsolation(f"kv{uuid.uuid4().hex[:6]}"),
    )
    group.start_all()
    try:
        yield group
    finally:
        group.close()
        print_logs(group)


@pytest.fixture
def cluster(isolatable: KvCluster) -> Iterator[KvCluster]:
    steady(isolatable)
    yield isolatable
