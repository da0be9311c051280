"""A fleet of 5 replicas per Raft group (bench/replicas.py, bench.capacity --replicas 5): every replica gets its
address, its ports and its roles, so the fifth executor may coordinate and the fifth books replica is a peer.
"""

from __future__ import annotations

import pytest

from testing.fleet_env import PROCESSES, fleet_env, processes, replica_ids, settings_from
from utils.fleet.spec import fleet_processes
from utils.rpc.core.authz import Policy, Verdict
from utils.rpc.trust import roster_from


def test_five_replicas_per_group_are_addressed_started_and_authorised() -> None:
    planned = fleet_env(replicas=5)
    settings = settings_from(planned.env)
    assert list(settings.executor_peers()) == replica_ids("executor", 5) == [f"executor-{i}" for i in range(1, 6)]
    assert list(settings.database_peers()) == [f"books-{i}" for i in range(1, 6)]
    started = {spec.name for spec in fleet_processes(settings)}
    assert started == set(processes(5)) and {"executor-5", "books-5"} <= set(planned.metrics_ports)
    ports = [
        address.rpartition(":")[2] for address in {**settings.executor_peers(), **settings.database_peers()}.values()
    ]
    assert len(set(ports)) == 10  # no two replicas on one port
    policy = Policy(roster_from(settings))
    prepare = "/bookstore.payment_service.PaymentService/Prepare"
    append = "/bookstore.raft.Raft/AppendEntries"
    assert policy.decide(prepare, "executor-5", "payment_service") is Verdict.ALLOW
    assert policy.decide(append, "books-5", "books-1") is Verdict.ALLOW
    assert policy.decide(append, "executor-5", "books-1") is Verdict.PERMISSION_DENIED  # another group


def test_three_is_the_default_and_other_sizes_are_refused() -> None:
    assert PROCESSES == processes(3) and "executor-4" not in PROCESSES
    assert PROCESSES["executor-3"] == 23 and processes(5)["books-5"] == 15  # the chaos tool's host octets
    with pytest.raises(ValueError, match="replicas per group"):
        replica_ids("books", 4)
