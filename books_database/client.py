"""A typed client for the books database group: every call goes to the primary, wherever it is now.

Built on utils.rpc.leader_client; stock writes carry a request id, so a retry is applied once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

import grpc

from utils.pb.books_database import books_database_pb2 as pb
from utils.pb.books_database import books_database_pb2_grpc as pb_grpc
from utils.pb.twopc import twopc_pb2 as twopc_pb
from utils.rpc.leader_client import LeaderClient, RetryPolicy
from utils.settings import FleetSettings
from utils.tls import FleetTls

DEFAULT_TIMEOUT_S = 3.0
STATUS_TIMEOUT_S = 0.5


class BooksClient:
    """The books database seen as one service. Methods raise grpc.RpcError (see the proto for codes);
    GroupUnavailable (UNAVAILABLE) when no primary answered within `timeout_s`."""

    def __init__(
        self,
        peers: dict[str, str],
        timeout_s: float = DEFAULT_TIMEOUT_S,
        policy: RetryPolicy = RetryPolicy(),
        tls: FleetTls | None = None,  # the identity to call as; None = the process's own
        channel_factory: Callable[[str, str], grpc.Channel] | None = None,  # (address, replica id); tests
    ) -> None:
        self.group: LeaderClient[pb_grpc.BooksDatabaseStub] = LeaderClient(
            peers, pb_grpc.BooksDatabaseStub, policy, channel_factory=channel_factory, tls=tls
        )
        self.timeout_s = timeout_s

    @classmethod
    def from_settings(cls, fleet: FleetSettings, timeout_s: float = DEFAULT_TIMEOUT_S) -> BooksClient:
        return cls(fleet.database_peers(), timeout_s)

    def close(self) -> None:
        self.group.close()

    def _timeout(self, timeout_s: float | None) -> float:
        return self.timeout_s if timeout_s is None else timeout_s

    # ---- reads (linearizable) ------------------------------------------------------------------

    def read_stock(self, book_id: str, timeout_s: float | None = None) -> pb.ReadStockResponse:
        reply: pb.ReadStockResponse = self.group.call(
            lambda s: s.ReadStock, pb.ReadStockRequest(book_id=book_id), timeout_s=self._timeout(timeout_s)
        )
        return reply

    def list_books(self, timeout_s: float | None = None) -> list[pb.Book]:
        reply = self.group.call(lambda s: s.ListBooks, pb.ListBooksRequest(), timeout_s=self._timeout(timeout_s))
        return list(reply.books)

    def get_transaction(self, tx_id: str, timeout_s: float | None = None) -> pb.GetTransactionResponse | None:
        """The transaction as the primary holds it; None if it has never heard of it."""
        try:
            reply: pb.GetTransactionResponse = self.group.call(
                lambda s: s.GetTransaction, pb.GetTransactionRequest(tx_id=tx_id), timeout_s=self._timeout(timeout_s)
            )
            return reply
        except grpc.RpcError as error:
            if error.code() is grpc.StatusCode.NOT_FOUND:
                return None
            raise

    # ---- stock writes --------------------------------------------------------------------------

    def decrement_stock(
        self, book_id: str, amount: int, request_id: str | None = None, timeout_s: float | None = None
    ) -> pb.StockChangeResponse:
        """success=False (reason INSUFFICIENT_STOCK) when fewer copies are available; nothing changes then."""
        request = pb.StockChangeRequest(book_id=book_id, amount=amount, request_id=request_id or uuid.uuid4().hex)
        reply: pb.StockChangeResponse = self.group.call(
            lambda s: s.DecrementStock, request, timeout_s=self._timeout(timeout_s)
        )
        return reply

    def increment_stock(
        self, book_id: str, amount: int, request_id: str | None = None, timeout_s: float | None = None
    ) -> pb.StockChangeResponse:
        request = pb.StockChangeRequest(book_id=book_id, amount=amount, request_id=request_id or uuid.uuid4().hex)
        reply: pb.StockChangeResponse = self.group.call(
            lambda s: s.IncrementStock, request, timeout_s=self._timeout(timeout_s)
        )
        return reply

    # ---- 2PC participant (idempotent per tx id, so retries are safe) ---------------------------

    def prepare(
        self,
        tx_id: str,
        items: Iterable[tuple[str, int]],
        coordinator_term: int,
        timeout_s: float | None = None,
        incarnation: str = "",
    ) -> pb.PrepareResponse:
        request = pb.PrepareRequest(
            tx_id=tx_id,
            coordinator_term=coordinator_term,
            items=[pb.Item(book_id=b, quantity=q) for b, q in items],
            incarnation=incarnation,
        )
        reply: pb.PrepareResponse = self.group.call(
            lambda s: s.PrepareTransaction, request, timeout_s=self._timeout(timeout_s)
        )
        return reply

    def commit(
        self, tx_id: str, coordinator_term: int, timeout_s: float | None = None, incarnation: str = ""
    ) -> pb.TransactionOutcome:
        request = pb.CommitRequest(tx_id=tx_id, coordinator_term=coordinator_term, incarnation=incarnation)
        reply: pb.TransactionOutcome = self.group.call(
            lambda s: s.CommitTransaction, request, timeout_s=self._timeout(timeout_s)
        )
        return reply

    def abort(
        self, tx_id: str, coordinator_term: int, timeout_s: float | None = None, incarnation: str = ""
    ) -> pb.TransactionOutcome:
        request = pb.AbortRequest(tx_id=tx_id, coordinator_term=coordinator_term, incarnation=incarnation)
        reply: pb.TransactionOutcome = self.group.call(
            lambda s: s.AbortTransaction, request, timeout_s=self._timeout(timeout_s)
        )
        return reply

    def fence(self, timeout_s: float | None = None) -> twopc_pb.Fence:
        """The executor-group incarnation the database follows, and the newest term seen (read on the primary)."""
        reply: twopc_pb.Fence = self.group.call(
            lambda s: s.GetFence, twopc_pb.GetFenceRequest(), timeout_s=self._timeout(timeout_s)
        )
        return reply

    # ---- the group -----------------------------------------------------------------------------

    def status_all(self, timeout_s: float = STATUS_TIMEOUT_S) -> dict[str, pb.StatusResponse | None]:
        """Each replica's Status by id; None for one that did not answer (role "unreachable" in /cluster)."""
        replies = self.group.call_each(lambda s: s.Status, pb.StatusRequest(), timeout_s=timeout_s)
        return {node_id: reply if isinstance(reply, pb.StatusResponse) else None for node_id, reply in replies.items()}
