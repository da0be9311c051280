"""Helpers for tests on three real books_database processes: start them, find the primary, wait for convergence.

Process names are the replica ids (books-1..3), so a replica's Status names the process to kill or pause.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from books_database.client import BooksClient
from testing.local_fleet import RunningFleet, running_fleet
from testing.pki import RoutedChannel, routed
from utils.pb.books_database import books_database_pb2 as pb
from utils.pb.books_database import books_database_pb2_grpc as pb_grpc
from utils.rpc.leader_client import RetryPolicy

REPLICAS = ("books-1", "books-2", "books-3")
POLL_S = 0.05
# Short attempts, so a paused replica costs little of a call's budget; the whole call gets `timeout_s`.
TEST_POLICY = RetryPolicy(attempt_timeout_s=0.5, backoff_initial_s=0.02, backoff_max_s=0.2)


@contextmanager
def books_fleet(tmp_path: Path) -> Iterator[RunningFleet]:
    with running_fleet(tmp_path, only={"books_database"}, extra_env={"SHUTDOWN_GRACE_S": "1"}) as rf:
        yield rf


def client_for(rf: RunningFleet, timeout_s: float = 5.0) -> BooksClient:
    return BooksClient(
        rf.settings.database_peers(), timeout_s=timeout_s, policy=TEST_POLICY, channel_factory=routed(rf.tls().tls_dir)
    )


def stub(rf: RunningFleet, node_id: str) -> pb_grpc.BooksDatabaseStub:
    """A plain stub to one replica: no redirects, no retries (to talk to a deposed primary on purpose)."""
    return pb_grpc.BooksDatabaseStub(RoutedChannel(rf.settings.database_peers()[node_id], node_id, rf.tls().tls_dir))


def statuses(client: BooksClient, among: tuple[str, ...] = REPLICAS) -> dict[str, pb.StatusResponse]:
    return {n: s for n, s in client.status_all(timeout_s=0.5).items() if s is not None and n in among}


def wait_for_primary(
    client: BooksClient, among: tuple[str, ...] = REPLICAS, newer_than_term: int = 0, timeout_s: float = 15.0
) -> pb.StatusResponse:
    """The Status of the replica that is leader (in a term > newer_than_term), once one is."""
    deadline = time.monotonic() + timeout_s
    while True:
        leaders = [s for s in statuses(client, among).values() if s.role == "leader" and s.term > newer_than_term]
        if leaders:
            return max(leaders, key=lambda s: s.term)
        if time.monotonic() > deadline:
            raise TimeoutError(f"no primary among {among} after {timeout_s} s")
        time.sleep(POLL_S)


def wait_converged(client: BooksClient, among: tuple[str, ...] = REPLICAS, timeout_s: float = 15.0) -> str:
    """Waits until the replicas in `among` report one state hash at one applied index; returns the hash."""
    deadline = time.monotonic() + timeout_s
    seen: dict[str, pb.StatusResponse] = {}
    while True:
        seen = statuses(client, among)
        if len(seen) == len(among) and len({(s.state_hash, s.applied_index) for s in seen.values()}) == 1:
            return next(iter(seen.values())).state_hash
        if time.monotonic() > deadline:
            view = {n: (s.role, s.applied_index, s.state_hash[:8]) for n, s in seen.items()}
            raise AssertionError(f"replicas did not converge within {timeout_s} s: {view}")
        time.sleep(POLL_S)


def pause(rf: RunningFleet, node_id: str) -> None:
    rf.fleet.signal(node_id, signal.SIGSTOP)


def resume(rf: RunningFleet, node_id: str) -> None:
    rf.fleet.signal(node_id, signal.SIGCONT)


def restart(rf: RunningFleet, node_id: str) -> None:
    rf.fleet.start(node_id)
    rf.fleet.wait_healthy([node_id], timeout_s=30)
