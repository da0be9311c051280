"""After the run: ask the participants themselves — every order's payment (GetPayment) and database
transaction (GetTransaction), the stock of every book, each replica's final position — into an Evidence.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import grpc

from books_database.client import BooksClient
from testing.evidence import (
    UNREADABLE,
    BookStock,
    PaymentFact,
    ReplicaFact,
    TransactionFact,
    payment_fact,
    transaction_fact,
)
from utils.pb.books_database import books_database_pb2 as books_pb
from utils.pb.books_database import books_database_pb2_grpc as books_grpc
from utils.pb.payment_service import payment_service_pb2 as pay_pb
from utils.pb.payment_service import payment_service_pb2_grpc as pay_grpc
from utils.pb.raft import raft_pb2, raft_pb2_grpc
from utils.rpc.client import call, open_channel

READ_TIMEOUT_S = 3.0
READ_ATTEMPTS = 5
COLLECT_WORKERS = 8
CONVERGE_TIMEOUT_S = 15.0
T = TypeVar("T")


class Participants:
    """Read-only access to the payment service and the books database, retried through short outages."""

    def __init__(
        self,
        payment_addr: Callable[[], str],
        database_peers: Callable[[], dict[str, str]],
        executor_peers: Callable[[], dict[str, str]],
    ) -> None:
        # Callables: a container fleet's addresses change when a container restarts or reconnects.
        self._payment_addr = payment_addr
        self._database_peers = database_peers
        self._executor_peers = executor_peers
        self._lock = threading.Lock()
        self._payment: tuple[str, pay_grpc.PaymentServiceStub] | None = None
        self._books: tuple[dict[str, str], BooksClient] | None = None

    @property
    def payment(self) -> pay_grpc.PaymentServiceStub:
        address = self._payment_addr()
        with self._lock:
            if self._payment is None or self._payment[0] != address:
                self._payment = (address, pay_grpc.PaymentServiceStub(open_channel(address, "payment_service")))
            return self._payment[1]

    @property
    def books(self) -> BooksClient:
        peers = self._database_peers()
        with self._lock:
            if self._books is None or self._books[0] != peers:
                if self._books is not None:
                    self._books[1].close()
                self._books = (dict(peers), BooksClient(peers, timeout_s=READ_TIMEOUT_S))
            return self._books[1]

    def close(self) -> None:
        with self._lock:
            if self._books is not None:
                self._books[1].close()

    def read_stock(self, book_id: str) -> int:
        """The stock on hand from the primary (a linearizable ReadIndex read): I7's reads."""
        return int(self.books.read_stock(book_id, timeout_s=1.0).stock)

    def stock(self) -> dict[str, BookStock]:
        books = _retry(lambda: self.books.list_books())
        return {b.id: BookStock(int(b.stock), int(b.reserved)) for b in books}

    def payment_of(self, order_id: str) -> PaymentFact:
        try:
            reply = _retry(
                lambda: call(
                    self.payment.GetPayment, pay_pb.GetPaymentRequest(tx_id=order_id), timeout_s=READ_TIMEOUT_S
                )
            )
        except grpc.RpcError:
            return PaymentFact(UNREADABLE)
        return payment_fact(reply)

    def transaction_of(self, order_id: str) -> TransactionFact:
        try:
            reply = _retry(lambda: self.books.get_transaction(order_id))
        except grpc.RpcError:
            return TransactionFact(UNREADABLE)
        return transaction_fact(reply)

    def facts(self, order_ids: Iterable[str]) -> tuple[dict[str, PaymentFact], dict[str, TransactionFact]]:
        ids = sorted(set(order_ids))
        with ThreadPoolExecutor(max_workers=COLLECT_WORKERS, thread_name_prefix="chaos-collect") as pool:
            payments = dict(zip(ids, pool.map(self.payment_of, ids), strict=True))
            transactions = dict(zip(ids, pool.map(self.transaction_of, ids), strict=True))
        return payments, transactions

    def replicas(self) -> list[ReplicaFact]:
        """Each replica's last applied index (and, for the database, its state hash), once they have converged:
        the database replicas are asked until they all reached the same applied index, or time runs out."""
        deadline = time.monotonic() + CONVERGE_TIMEOUT_S
        while True:
            books = [self._books_status(n, a) for n, a in sorted(self._database_peers().items())]
            indexes = {r.applied_index for r in books if r.reachable}
            if (len(indexes) <= 1 and all(r.reachable for r in books)) or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        executors = [self._raft_status("order_executor", n, a) for n, a in sorted(self._executor_peers().items())]
        return books + executors

    def _books_status(self, node_id: str, address: str) -> ReplicaFact:
        stub = books_grpc.BooksDatabaseStub(open_channel(address, node_id, retries=False))
        try:
            reply = call(stub.Status, books_pb.StatusRequest(), timeout_s=READ_TIMEOUT_S)
        except grpc.RpcError:
            return ReplicaFact("books_database", node_id, False)
        return ReplicaFact("books_database", node_id, True, int(reply.applied_index), reply.state_hash)

    def _raft_status(self, group: str, node_id: str, address: str) -> ReplicaFact:
        stub = raft_pb2_grpc.RaftStub(open_channel(address, node_id, retries=False))
        try:
            reply = call(stub.Status, raft_pb2.StatusRequest(), timeout_s=READ_TIMEOUT_S)
        except grpc.RpcError:
            return ReplicaFact(group, node_id, False)
        return ReplicaFact(group, node_id, True, int(reply.applied_index))


def _retry(read: Callable[[], T]) -> T:
    """A read retried through UNAVAILABLE/DEADLINE_EXCEEDED (a leader change right after healing)."""
    for attempt in range(READ_ATTEMPTS):
        try:
            return read()
        except grpc.RpcError as error:
            if attempt == READ_ATTEMPTS - 1 or error.code() not in (
                grpc.StatusCode.UNAVAILABLE,
                grpc.StatusCode.DEADLINE_EXCEEDED,
            ):
                raise
            time.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")
