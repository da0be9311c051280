"""Thin adapters from the coordinator to its two 2PC participants: the payment service and the books database.

Each call carries a deadline and the executor group's current Raft term; gRPC errors become three kinds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import grpc

from books_database.client import BooksClient
from order_executor.core.order import OrderSummary
from utils.pb.books_database import books_database_pb2 as books_pb
from utils.pb.payment_service import payment_service_pb2 as pay_pb
from utils.pb.payment_service import payment_service_pb2_grpc as pay_grpc
from utils.rpc.client import call, open_channel
from utils.rpc.leader_client import metadata_value

PAYMENT = "payment_service"
BOOKS = "books_database"


@dataclass(frozen=True, slots=True)
class VoteReply:
    commit: bool
    reason: str = ""


class Fenced(Exception):
    """The participant has seen a newer coordinator term: this coordinator is deposed and must stop."""


class NoAnswer(Exception):
    """No answer within the deadline (down, slow, partitioned, or no primary): the outcome of the call is unknown."""


class Refused(Exception):
    """The participant refused the message as illegal for the transaction's state (e.g. Commit after Abort)."""


class Participant(Protocol):
    name: str

    def prepare(self, order: OrderSummary, term: int, timeout_s: float) -> VoteReply: ...

    def commit(self, tx_id: str, term: int, timeout_s: float) -> None: ...

    def abort(self, tx_id: str, term: int, timeout_s: float) -> None: ...


def _classify(error: grpc.RpcError, stale_marker: str) -> Exception:
    code = error.code() if callable(getattr(error, "code", None)) else None
    details = str(error.details() or "") if callable(getattr(error, "details", None)) else str(error)
    if code is grpc.StatusCode.FAILED_PRECONDITION and (
        stale_marker in details or metadata_value(error, "x-reason") == "STALE_TERM"
    ):
        return Fenced(details)
    if code in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
        return Refused(f"{code.name if code else '?'}: {details}")
    return NoAnswer(f"{code.name if code else '?'}: {details}")


class PaymentParticipant:
    name = PAYMENT

    def __init__(self, address: str) -> None:
        self._stub = pay_grpc.PaymentServiceStub(open_channel(address))

    def prepare(self, order: OrderSummary, term: int, timeout_s: float) -> VoteReply:
        request = pay_pb.PrepareRequest(
            tx_id=order.order_id, token=order.payment_token, amount_cents=order.total_cents, coordinator_term=term
        )
        try:
            reply = call(self._stub.Prepare, request, timeout_s=timeout_s)
        except grpc.RpcError as error:
            raise _classify(error, "stale coordinator term") from None
        return VoteReply(reply.vote == pay_pb.VOTE_COMMIT, reply.reason)

    def commit(self, tx_id: str, term: int, timeout_s: float) -> None:
        self._decide(self._stub.Commit, tx_id, term, timeout_s)

    def abort(self, tx_id: str, term: int, timeout_s: float) -> None:
        self._decide(self._stub.Abort, tx_id, term, timeout_s)

    def _decide(self, rpc: object, tx_id: str, term: int, timeout_s: float) -> None:
        try:
            call(rpc, pay_pb.DecisionRequest(tx_id=tx_id, coordinator_term=term), timeout_s=timeout_s)  # type: ignore[arg-type]
        except grpc.RpcError as error:
            raise _classify(error, "stale coordinator term") from None


_BOOKS_REASONS = {
    books_pb.INSUFFICIENT_STOCK: "not enough stock",
    books_pb.UNKNOWN_BOOK: "unknown book",
    books_pb.ALREADY_ABORTED: "transaction already aborted",
}


class BooksParticipant:
    name = BOOKS

    def __init__(self, client: BooksClient) -> None:
        self._client = client

    def prepare(self, order: OrderSummary, term: int, timeout_s: float) -> VoteReply:
        items = [(item.book_id, item.quantity) for item in order.items]
        try:
            reply = self._client.prepare(order.order_id, items, term, timeout_s=timeout_s)
        except grpc.RpcError as error:
            raise _classify(error, "is older than") from None
        if reply.vote == books_pb.VOTE_COMMIT:
            return VoteReply(True)
        why = _BOOKS_REASONS.get(reply.reason, "books database voted abort")
        return VoteReply(False, f"{why}: {reply.detail}" if reply.detail else why)

    def commit(self, tx_id: str, term: int, timeout_s: float) -> None:
        try:
            self._client.commit(tx_id, term, timeout_s=timeout_s)
        except grpc.RpcError as error:
            raise _classify(error, "is older than") from None

    def abort(self, tx_id: str, term: int, timeout_s: float) -> None:
        try:
            self._client.abort(tx_id, term, timeout_s=timeout_s)
        except grpc.RpcError as error:
            raise _classify(error, "is older than") from None
