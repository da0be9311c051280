"""The books database on three real processes under faults: SIGKILL, SIGSTOP, two replicas down, all down.

Acknowledged writes survive, nothing is oversold, a deposed primary neither acknowledges nor serves stale
reads (checked for linearizability), and after every test the three replicas hold one state hash.
"""

from __future__ import annotations

import itertools
import math
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest

from books_database.client import BooksClient
from tests.services.books_database.cluster import (
    REPLICAS,
    books_fleet,
    client_for,
    pause,
    restart,
    resume,
    stub,
    wait_converged,
    wait_for_primary,
)
from utils.linearizability import CheckResult, Operation, check_operations_verbose, counter_model
from utils.pb.books_database import books_database_pb2 as pb
from utils.rpc.leader_client import GroupUnavailable, may_have_applied, metadata_value

pytestmark = [pytest.mark.fleet, pytest.mark.timeout(150)]
BOOK = "book_101_clean_code"
OTHER = "book_102_pragmatic_programmer"


class WriteStream:
    """Threads writing +1 (increments) or −1 (decrements) until stopped; counts acknowledged and unknown writes."""

    def __init__(self, client: BooksClient, plan: list[tuple[str, int]], timeout_s: float = 5.0) -> None:
        self.client, self.plan, self.timeout_s = client, plan, timeout_s
        self.acked: dict[str, int] = {}
        self.unknown: dict[str, int] = {}
        self.acked_total = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(book, delta), daemon=True) for book, delta in plan]

    def start(self) -> WriteStream:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout_s + 5)

    def wait_acked(self, total: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while self.acked_total < total:
            assert time.monotonic() < deadline, f"only {self.acked_total} of {total} writes acknowledged in time"
            time.sleep(0.02)

    def range_for(self, book: str, base: int) -> tuple[int, int]:
        """The stock `book` may hold: every acknowledged write applied, any unknown one applied or not."""
        acked, unknown = self.acked.get(book, 0), self.unknown.get(book, 0)
        return (base + min(acked, acked + unknown), base + max(acked, acked + unknown))

    def _run(self, book: str, delta: int) -> None:
        write = self.client.increment_stock if delta > 0 else self.client.decrement_stock
        while not self._stop.is_set():
            try:
                reply = write(book, abs(delta), timeout_s=self.timeout_s)
                assert reply.success, f"{book}: {reply}"
                with self._lock:
                    self.acked[book] = self.acked.get(book, 0) + delta
                    self.acked_total += 1
            except grpc.RpcError as error:
                if may_have_applied(error):
                    with self._lock:
                        self.unknown[book] = self.unknown.get(book, 0) + delta


def stock_of(client: BooksClient, book: str) -> int:
    return client.read_stock(book).stock


def test_concurrent_decrements_of_the_last_copies_never_oversell(tmp_path: Path) -> None:
    with books_fleet(tmp_path) as rf:
        client = client_for(rf)
        start = stock_of(client, BOOK)
        client.increment_stock(BOOK, 50 - start) if start < 50 else client.decrement_stock(BOOK, start - 50)
        assert stock_of(client, BOOK) == 50

        def buyer(_: int) -> int:
            own = client_for(rf)
            try:
                return sum(own.decrement_stock(BOOK, 1).success for _ in range(3))
            finally:
                own.close()

        with ThreadPoolExecutor(max_workers=20) as pool:
            sold = sum(pool.map(buyer, range(20)))
        assert sold == 50
        final = client.read_stock(BOOK)
        assert (final.stock, final.available) == (0, 0)
        assert client.decrement_stock(BOOK, 1).reason == pb.INSUFFICIENT_STOCK
        wait_converged(client)


def test_sigkill_of_the_primary_loses_no_acknowledged_write(tmp_path: Path) -> None:
    with books_fleet(tmp_path) as rf:
        client = client_for(rf)
        client.increment_stock(OTHER, 1000)  # room for the decrements below
        base = {BOOK: stock_of(client, BOOK), OTHER: stock_of(client, OTHER)}
        old = wait_for_primary(client)
        stream = WriteStream(client, [(BOOK, 1), (BOOK, 1), (OTHER, -1), (OTHER, -1)]).start()
        stream.wait_acked(40, timeout_s=20)
        rf.fleet.kill(old.node_id)
        survivors = tuple(n for n in REPLICAS if n != old.node_id)
        new = wait_for_primary(client, survivors, newer_than_term=old.term)
        acked_at_kill = stream.acked_total
        stream.wait_acked(acked_at_kill + 40, timeout_s=20)  # the new primary serves writes
        stream.stop()

        assert new.node_id != old.node_id
        for book in (BOOK, OTHER):
            low, high = stream.range_for(book, base[book])
            assert low <= stock_of(client, book) <= high, (book, low, high, stream.acked, stream.unknown)
        restart(rf, old.node_id)
        wait_converged(client)


def test_a_paused_primary_cannot_acknowledge_and_a_new_one_serves(tmp_path: Path) -> None:
    with books_fleet(tmp_path) as rf:
        client = client_for(rf, timeout_s=10.0)
        base = stock_of(client, BOOK)
        old = wait_for_primary(client)
        pause(rf, old.node_id)
        try:
            paused = stub(rf, old.node_id)
            error = pytest.raises(
                grpc.RpcError, paused.DecrementStock, pb.StockChangeRequest(book_id=BOOK, amount=1), timeout=1.5
            ).value
            # No answer: the deadline passes, or (a new connection) the TLS handshake with the stopped process fails.
            assert error.code() in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE)
            started = time.monotonic()
            assert client.decrement_stock(BOOK, 1).success  # found the new primary within its budget
            print(f"\nnew primary served {time.monotonic() - started:.2f} s after the pause was noticed")
            new = wait_for_primary(client, tuple(n for n in REPLICAS if n != old.node_id), newer_than_term=old.term)
        finally:
            resume(rf, old.node_id)
        # Right after it wakes, the old primary still acknowledges nothing: it redirects or fails.
        late = pytest.raises(
            grpc.RpcError, paused.DecrementStock, pb.StockChangeRequest(book_id=BOOK, amount=1), timeout=3
        ).value
        assert late.code() in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.UNAVAILABLE)
        assert new.node_id != old.node_id
        assert stock_of(client, BOOK) == base - 1
        wait_converged(client)


def test_a_prepared_transaction_survives_failover_and_is_decided_on_the_new_primary(tmp_path: Path) -> None:
    with books_fleet(tmp_path) as rf:
        client = client_for(rf)
        book_base, other_base = stock_of(client, BOOK), stock_of(client, OTHER)
        assert client.prepare("tx-commit", [(BOOK, 3)], coordinator_term=1).vote == pb.VOTE_COMMIT
        assert client.prepare("tx-abort", [(OTHER, 2)], coordinator_term=1).vote == pb.VOTE_COMMIT
        old = wait_for_primary(client)
        rf.fleet.kill(old.node_id)
        wait_for_primary(client, tuple(n for n in REPLICAS if n != old.node_id), newer_than_term=old.term)

        held = client.get_transaction("tx-commit")
        assert held is not None and held.state == pb.PREPARED
        assert [(i.book_id, i.quantity) for i in held.items] == [(BOOK, 3)]
        reserved = client.read_stock(BOOK)
        assert (reserved.stock, reserved.reserved, reserved.available) == (book_base, 3, book_base - 3)

        assert client.commit("tx-commit", coordinator_term=2).state == pb.COMMITTED
        assert client.abort("tx-abort", coordinator_term=2).state == pb.ABORTED
        stale = pytest.raises(grpc.RpcError, client.commit, "tx-abort", coordinator_term=1).value
        assert stale.code() is grpc.StatusCode.FAILED_PRECONDITION and metadata_value(stale, "x-reason") == "STALE_TERM"
        after = client.read_stock(BOOK)
        assert (after.stock, after.reserved) == (book_base - 3, 0)
        assert client.read_stock(OTHER).available == other_base
        restart(rf, old.node_id)
        wait_converged(client)


def test_a_deposed_primary_never_serves_a_stale_read(tmp_path: Path) -> None:
    with books_fleet(tmp_path) as rf:
        client = client_for(rf)
        initial = stock_of(client, BOOK)
        old = wait_for_primary(client)
        t0 = time.monotonic()
        operations: list[Operation] = []
        lock = threading.Lock()
        ids = itertools.count()
        stop = threading.Event()

        def record(input: tuple[object, ...], call: float, output: object, returned: float) -> None:
            with lock:
                operations.append(Operation(next(ids), input, call, output, returned))

        def worker(n: int) -> None:
            own = client_for(rf, timeout_s=4.0)
            try:
                while not stop.is_set():
                    call = time.monotonic() - t0
                    try:
                        if n % 2:
                            own.increment_stock(BOOK, 1)
                            record(("add", BOOK, 1), call, None, time.monotonic() - t0)
                        else:
                            record(("read", BOOK), call, own.read_stock(BOOK).stock, time.monotonic() - t0)
                    except grpc.RpcError as error:
                        if n % 2 and may_have_applied(error):
                            record(("add", BOOK, 1), call, None, math.inf)
            finally:
                own.close()

        def stale_reader() -> None:
            # Straight at the old primary, with deadlines that outlast the pause: these reads wait in its
            # queue and are served (or refused) the moment it wakes, the riskiest moment for a stale read.
            direct = stub(rf, old.node_id)
            while not stop.is_set():
                call = time.monotonic() - t0
                try:
                    reply = direct.ReadStock(pb.ReadStockRequest(book_id=BOOK), timeout=3.0)
                    record(("read", BOOK), call, reply.stock, time.monotonic() - t0)
                except grpc.RpcError:
                    time.sleep(0.01)

        threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(4)]
        threads += [threading.Thread(target=stale_reader, daemon=True) for _ in range(3)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)  # a stretch of history before the fault
        pause(rf, old.node_id)
        wait_for_primary(client, tuple(n for n in REPLICAS if n != old.node_id), newer_than_term=old.term)
        _wait_for(lambda: sum(o.input[0] == "add" and o.call > time.monotonic() - t0 - 1 for o in operations) >= 5)
        resume(rf, old.node_id)
        time.sleep(1.0)  # the old primary is awake, with reads aimed at it
        stop.set()
        for thread in threads:
            thread.join(timeout=10)

        report = check_operations_verbose(counter_model({BOOK: initial}), operations, timeout_s=60)
        assert report.result is CheckResult.OK, report.message
        assert sum(o.input[0] == "add" and o.return_time != math.inf for o in operations) >= 5
        wait_converged(client)


def test_all_three_killed_after_1000_acknowledged_writes_keep_them_all(tmp_path: Path) -> None:
    with books_fleet(tmp_path) as rf:
        client = client_for(rf)
        books = [b.id for b in client.list_books()[:4]]
        base = {book: stock_of(client, book) for book in books}
        stream = WriteStream(client, [(books[n % 4], 1) for n in range(16)], timeout_s=2.0).start()
        stream.wait_acked(1000, timeout_s=60)
        for node_id in REPLICAS:  # at once, with writes in flight
            rf.fleet.signal(node_id, signal.SIGKILL)
        stream.stop()
        for node_id in REPLICAS:
            rf.fleet.processes[node_id].wait(timeout=10)
            rf.fleet.start(node_id)
        rf.fleet.wait_healthy(list(REPLICAS), timeout_s=30)

        assert stream.acked_total >= 1000
        for book in books:
            low, high = stream.range_for(book, base[book])
            assert low <= stock_of(client, book) <= high, (book, low, high)
        wait_converged(client)


def test_with_two_replicas_down_writes_fail_cleanly_and_resume_when_one_returns(tmp_path: Path) -> None:
    with books_fleet(tmp_path) as rf:
        client = client_for(rf)
        base = stock_of(client, BOOK)
        primary = wait_for_primary(client)
        followers = [n for n in REPLICAS if n != primary.node_id]
        for node_id in followers:
            rf.fleet.kill(node_id)

        started = time.monotonic()
        with pytest.raises(GroupUnavailable) as raised:
            client.decrement_stock(BOOK, 1, request_id="during-outage", timeout_s=2.0)
        assert raised.value.code() is grpc.StatusCode.UNAVAILABLE
        assert time.monotonic() - started < 4.0  # fails near its deadline, not hanging
        with pytest.raises(GroupUnavailable):
            client.read_stock(BOOK, timeout_s=1.0)

        restart(rf, followers[0])
        # The same request id again: applied exactly once, whether or not the failed attempt was logged.
        assert client.decrement_stock(BOOK, 1, request_id="during-outage").success
        assert client.decrement_stock(BOOK, 1).success
        assert stock_of(client, BOOK) == base - 2
        restart(rf, followers[1])
        wait_converged(client)


def _wait_for(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)
