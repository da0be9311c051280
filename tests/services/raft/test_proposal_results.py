"""A proposer gets the result of its own entry and nothing else, across crashes, elections and restarts.

The state machine echoes each command, so a result routed to the wrong proposer is caught at once.
"""

from __future__ import annotations

import itertools
import logging
import random
import threading
from pathlib import Path

import pytest

from tests.services.raft.local_cluster import LocalCluster
from utils.raft.errors import NotLeader, RaftUnavailable

pytestmark = pytest.mark.timeout(120)
WRITERS = 4
ROUNDS = 6


class EchoStateMachine:
    """apply() returns the command it applied (bytes), never an index."""

    def __init__(self) -> None:
        self.commands: list[bytes] = []

    def apply(self, index: int, command: bytes) -> bytes:
        self.commands.append(command)
        return command

    def snapshot(self) -> bytes:
        return b"\n".join(self.commands)

    def restore(self, data: bytes) -> None:
        self.commands = data.split(b"\n") if data else []


def test_every_proposer_gets_its_own_commands_result_through_leader_churn(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.CRITICAL, logger="utils.raft.driver")
    cluster = LocalCluster(tmp_path)
    for node_id in cluster.members:
        cluster.start(node_id, EchoStateMachine())
    stop = threading.Event()
    results: list[tuple[bytes, object]] = []
    lock = threading.Lock()

    def writer(writer_id: int) -> None:
        for n in itertools.count():
            if stop.is_set():
                return
            command = f"w{writer_id}-{n}".encode()
            try:
                node = cluster.node(cluster.wait_for_leader(timeout_s=2.0))
                result = node.propose(command, timeout_s=2.0)
            except (NotLeader, RaftUnavailable, TimeoutError, AssertionError):
                continue  # no leader now, or the outcome is unknown: the next command is a new one
            with lock:
                results.append((command, result))

    threads = [threading.Thread(target=writer, args=(i,), daemon=True) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    rng = random.Random(7)
    try:
        for round_ in range(ROUNDS):
            # Waited on before the loop moves on, so the closure sees this round.
            cluster.wait_until(lambda: len(results) >= 10 * (round_ + 1), timeout_s=20, what="writes to land")  # noqa: B023
            leader = cluster.wait_for_leader()
            if round_ == ROUNDS - 1:
                for node_id in list(cluster.running()):  # every replica down, then a replay from disk
                    cluster.stop(node_id)
                for node_id in cluster.members:
                    cluster.start(node_id, EchoStateMachine())
            elif rng.random() < 0.5:
                # A crash-like stop mid-write: its uncommitted entries may be overwritten by the next leader.
                cluster.stop(leader)
                cluster.wait_for_leader()
                cluster.start(leader, EchoStateMachine())
            else:
                cluster.stop(leader, transfer_leadership=True)
                cluster.start(leader, EchoStateMachine())
        cluster.wait_until(lambda: len(results) >= 10 * (ROUNDS + 1), timeout_s=20, what="writes after restart")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        cluster.close()
    # The driver checks every result's entry (term, index, command): a failed check stops the node loudly.
    assert not [r for r in caplog.records if r.getMessage().startswith("raft driver failed")]
    wrong = [(command, result) for command, result in results if result != command]
    assert not wrong, f"proposals answered with another entry's result: {wrong[:5]}"
    assert len({command for command, _ in results}) == len(results)
