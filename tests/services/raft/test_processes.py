"""Three raft_kv_server processes on loopback under real faults: SIGKILL and restart of the leader,
SIGSTOP/SIGCONT of the next leader. Acknowledged writes survive every fault, a paused old leader
neither acknowledges a write nor serves a read, replicas converge to one state, and the client history
recorded throughout is linearizable."""

from __future__ import annotations

import itertools
import math
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.raft_kv_client import KvClient, Outcome
from testing.raft_kv_cluster import KvCluster
from utils.linearizability import CheckResult, Operation, check_operations_verbose, kv_model

pytestmark = pytest.mark.timeout(120)
SHARED_KEYS = ("x", "y")  # puts, appends and gets from every client
LOG_KEYS = ("log1", "log2")  # appends only: every acknowledged token must survive
WORKERS = 3
STALE_PROBES = 4  # requests of each kind sent to the paused old leader


class History:
    """The clients' operations, with real-time call and return instants (unknown outcome: inf)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._t0 = time.monotonic()
        self.operations: list[Operation] = []
        self.acknowledged_appends: list[tuple[str, str]] = []
        self._client_ids = itertools.count()

    def now(self) -> float:
        return time.monotonic() - self._t0

    def new_client_id(self) -> int:
        return next(self._client_ids)

    def record(
        self, client_id: int, op: tuple[str, str, str], call: float, output: str | None, returned: float
    ) -> None:
        with self._lock:
            self.operations.append(Operation(client_id, op, call, output, returned))
            if op[0] == "append" and returned != math.inf:
                self.acknowledged_appends.append((op[1], op[2]))

    def acknowledged(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self.acknowledged_appends)


def run_client(cluster: KvCluster, history: History, worker: int, stop: threading.Event) -> None:
    client = KvClient(cluster.addresses)
    rng = random.Random(worker)
    client_id = history.new_client_id()
    try:
        for n in itertools.count():
            if stop.is_set():
                return
            token = f"w{worker}.{n};"
            roll = rng.random()
            if roll < 0.3:
                key = rng.choice(SHARED_KEYS)
                call = history.now()
                value = client.get(key)
                if value is not None:
                    history.record(client_id, ("get", key, ""), call, value, history.now())
                continue
            op = "put" if roll < 0.55 else "append"
            key = rng.choice(SHARED_KEYS) if op == "put" or roll < 0.7 else rng.choice(LOG_KEYS)
            call = history.now()
            outcome = client.write(op, key, token)
            if outcome is Outcome.OK:
                history.record(client_id, (op, key, token), call, None, history.now())
            elif outcome is Outcome.UNKNOWN:
                # It may apply at any later time: record it as never returning, and continue as a new
                # client so this client's operations stay sequential.
                history.record(client_id, (op, key, token), call, None, math.inf)
                client_id = history.new_client_id()
    finally:
        client.close()


def assert_acknowledged_appends_present(client: KvClient, acknowledged: list[tuple[str, str]]) -> None:
    for key in LOG_KEYS:
        value = client.get(key, timeout_s=10)
        assert value is not None, f"no leader answered a read of {key}"
        missing = [token for k, token in acknowledged if k == key and token not in value]
        assert not missing, f"acknowledged appends lost from {key}: {missing}"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[KvCluster]:
    group = KvCluster(tmp_path, snapshot_every=100)
    group.start_all()
    yield group
    group.close()
    for replica in group.replicas.values():  # shown by pytest only when the test failed
        print(f"---- {replica.node_id} log (tail) ----\n{replica.log_path.read_text(errors='replace')[-3000:]}")


def test_faults_lose_no_acknowledged_write_and_the_history_is_linearizable(cluster: KvCluster) -> None:
    checker_client = KvClient(cluster.addresses)
    history = History()
    stop = threading.Event()
    workers = [
        threading.Thread(target=run_client, args=(cluster, history, w, stop), daemon=True) for w in range(WORKERS)
    ]
    try:
        first = cluster.wait_for_leader(timeout_s=20)
        for worker in workers:
            worker.start()
        wait_for(lambda: len(history.acknowledged()) >= 20, "writes before the first fault")

        # Fault 1: SIGKILL the leader. A new one is elected and holds every acknowledged write.
        before_kill = history.acknowledged()
        cluster.kill(first)
        second = cluster.wait_for_leader(exclude=frozenset({first}))
        assert second != first
        assert_acknowledged_appends_present(checker_client, before_kill)

        # Restart it: it catches up (by snapshot: the log was compacted while it was down).
        wait_for(lambda: len(history.acknowledged()) >= len(before_kill) + 40, "writes while it is down")
        cluster.start(first)
        cluster.wait_for_leader()

        # Fault 2: SIGSTOP the leader; the others elect a new one; then SIGCONT it.
        stale_client = KvClient(cluster.addresses, rpc_timeout_s=3.0)
        stale_client.get("fence", node_id=second)  # connected before the pause: requests queue in its socket
        before_pause = history.acknowledged()
        cluster.pause(second)
        third = cluster.wait_for_leader(exclude=frozenset({second}))
        checker_client.leader = third  # not the paused one: a write there would hang, outcome unknown
        assert checker_client.write("put", "fence", "after-pause") is Outcome.OK
        assert_acknowledged_appends_present(checker_client, before_pause)
        # Requests queue up at the paused old leader; it handles them on waking, racing the new leader's
        # messages. Several of each, so some are likely handled while it still believes it leads.
        stale_puts: list[Outcome] = []
        stale_gets: list[str | None] = []
        probes = [
            threading.Thread(
                target=lambda i=i: stale_puts.append(
                    stale_client.write("put", "fence", f"stale{i}", timeout_s=3, node_id=second)
                )
            )
            for i in range(STALE_PROBES)
        ]
        probes += [
            threading.Thread(target=lambda: stale_gets.append(stale_client.get("fence", timeout_s=3, node_id=second)))
            for _ in range(STALE_PROBES)
        ]
        for probe in probes:
            probe.start()
        time.sleep(0.2)  # not a wait for a condition: lets the requests reach the paused process's socket
        cluster.resume(second)
        for probe in probes:
            probe.join()
        stale_client.close()
        # The old leader still believed it led when it woke up: ReadIndex and CheckQuorum must stop it.
        assert Outcome.OK not in stale_puts, f"a paused-then-resumed old leader acknowledged a write: {stale_puts}"
        assert set(stale_gets) <= {None, "after-pause"}, f"the old leader served a stale read: {stale_gets}"
        assert third != second
        for i, outcome in enumerate(stale_puts):
            if outcome is Outcome.UNKNOWN:
                history.record(history.new_client_id(), ("put", "fence", f"stale{i}"), history.now(), None, math.inf)

        wait_for(lambda: len(history.acknowledged()) >= len(before_pause) + 20, "writes after the faults")
    finally:
        stop.set()
        for worker in workers:
            if worker.is_alive():
                worker.join(timeout=15)

    # Every replica applies the same log: same applied index, same state digest.
    digests = cluster.wait_until_converged(timeout_s=20)
    assert len(digests) == 3
    assert_acknowledged_appends_present(checker_client, history.acknowledged())
    checker_client.close()

    report = check_operations_verbose(kv_model, history.operations, timeout_s=30)
    print(
        f"history: {len(history.operations)} operations, "
        f"{sum(op.return_time == math.inf for op in history.operations)} with unknown outcome: {report.result}"
    )
    assert report.result is CheckResult.OK, report


def wait_for(condition, what: str, timeout_s: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.02)
