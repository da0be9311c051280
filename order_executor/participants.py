"""Thin adapters from the coordinator to its two 2PC participants: the payment service and the books database.

Each call carries a deadline, the executor group's incarnation and its current Raft term; gRPC errors become
three kinds (a refusal of the incarnation is a kind of Fenced).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import grpc

from books_database.client import BooksClient
from order_executor.core.order import OrderSummary
from utils.pb.books_database import books_database_pb2 as books_pb
from utils.pb.payment_service import payment_service_pb2 as pay_pb
from utils.pb.payment_service import payment_service_pb2_grpc as pay_grpc
from utils.pb.twopc import twopc_pb2 as twopc_pb
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


class IncarnationRefused(Fenced):
    """The participant follows another executor-group incarnation: this group lost its data, or was never adopted.

    Nothing this group sends will be accepted until an operator resolves and adopts it (docs/operations.md)."""


class NoAnswer(Exception):
    """No answer within the deadline (down, slow, partitioned, or no primary): the outcome of the call is unknown."""


class Refused(Exception):
    """The participant refused the message as illegal for the transaction's state (e.g. Commit after Abort)."""


class Participant(Protocol):
    name: str

    def prepare(self, order: OrderSummary, term: int, timeout_s: float) -> VoteReply: ...

    def commit(self, tx_id: str, term: int, timeout_s: float) -> None: ...

    def abort(self, tx_id: str, term: int, timeout_s: float) -> None: ...


class FenceProbe(Protocol):
    """A participant that can say which incarnation it follows (read-only), so a leader checks before it acts."""

    name: str

    def fence(self, timeout_s: float) -> tuple[str, int]:
        """(incarnation followed, newest term seen); raises NoAnswer."""
        ...


class Incarnation:
    """The group's incarnation as the adapters read it per call; bound to the worker once that is built."""

    def __init__(self) -> None:
        self._read: Callable[[], str] = str

    def attach(self, read: Callable[[], str]) -> None:
        self._read = read

    def __call__(self) -> str:
        return self._read()


def _classify(error: grpc.RpcError, stale_marker: str) -> Exception:
    code = error.code() if callable(getattr(error, "code", None)) else None
    details = str(error.details() or "") if callable(getattr(error, "details", None)) else str(error)
    if code is grpc.StatusCode.FAILED_PRECONDITION and metadata_value(error, "x-reason") == "INCARNATION_CHANGED":
        return IncarnationRefused(details)
    if code is grpc.StatusCode.FAILED_PRECONDITION and (
        stale_marker in details or metadata_value(error, "x-reason") == "STALE_TERM"
    ):
        return Fenced(details)
    if code in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
        return Refused(f"{code.name if code else '?'}: {details}")
    return NoAnswer(f"{code.name if code else '?'}: {details}")


class PaymentParticipant:
    name = PAYMENT

    def __init__(self, address: str, incarnation: Callable[[], str] = str) -> None:
        self._stub = pay_grpc.PaymentServiceStub(open_channel(address, "payment_service"))
        self._incarnation = incarnation

    def fence(self, timeout_s: float) -> tuple[str, int]:
        try:
            reply = call(self._stub.GetFence, twopc_pb.GetFenceRequest(), timeout_s=timeout_s)
        except grpc.RpcError as error:
            raise NoAnswer(f"{PAYMENT} GetFence: {error.code().name if callable(error.code) else error}") from None
        return str(reply.incarnation), int(reply.newest_term)

    def prepare(self, order: OrderSummary, term: int, timeout_s: float) -> VoteReply:
        request = pay_pb.PrepareRequest(
            tx_id=order.order_id,
            token=order.payment_token,
            amount_cents=order.total_cents,
            coordinator_term=term,
            incarnation=self._incarnation(),
        )
        try:
            # A payment service not reachable yet (restarting, its name not yet in DNS as a stack comes up) gets the
            # whole prepare budget, as the protocol says ("no vote in time → ABORT"), not an abort in milliseconds.
            reply = call(self._stub.Prepare, request, timeout_s=timeout_s, wait_for_ready=True)
        except grpc.RpcError as error:
            raise _classify(error, "stale coordinator term") from None
        return VoteReply(reply.vote == pay_pb.VOTE_COMMIT, reply.reason)

    def commit(self, tx_id: str, term: int, timeout_s: float) -> None:
        self._decide(self._stub.Commit, tx_id, term, timeout_s)

    def abort(self, tx_id: str, term: int, timeout_s: float) -> None:
        self._decide(self._stub.Abort, tx_id, term, timeout_s)

    def _decide(self, rpc: object, tx_id: str, term: int, timeout_s: float) -> None:
        try:
            request = pay_pb.DecisionRequest(tx_id=tx_id, coordinator_term=term, incarnation=self._incarnation())
            call(rpc, request, timeout_s=timeout_s)  # type: ignore[arg-type]
        except grpc.RpcError as error:
            raise _classify(error, "stale coordinator term") from None


_BOOKS_REASONS = {
    books_pb.INSUFFICIENT_STOCK: "not enough stock",
    books_pb.UNKNOWN_BOOK: "unknown book",
    books_pb.ALREADY_ABORTED: "transaction already aborted",
}


class BooksParticipant:
    name = BOOKS

    def __init__(self, client: BooksClient, incarnation: Callable[[], str] = str) -> None:
        self._client = client
        self._incarnation = incarnation

    def fence(self, timeout_s: float) -> tuple[str, int]:
        try:
            reply = self._client.fence(timeout_s=timeout_s)
        except grpc.RpcError as error:
            raise NoAnswer(f"{BOOKS} GetFence: {error.code().name if callable(error.code) else error}") from None
        return str(reply.incarnation), int(reply.newest_term)

    def prepare(self, order: OrderSummary, term: int, timeout_s: float) -> VoteReply:
        items = [(item.book_id, item.quantity) for item in order.items]
        try:
            reply = self._client.prepare(
                order.order_id, items, term, timeout_s=timeout_s, incarnation=self._incarnation()
            )
        except grpc.RpcError as error:
            raise _classify(error, "is older than") from None
        if reply.vote == books_pb.VOTE_COMMIT:
            return VoteReply(True)
        why = _BOOKS_REASONS.get(reply.reason, "books database voted abort")
        return VoteReply(False, f"{why}: {reply.detail}" if reply.detail else why)

    def commit(self, tx_id: str, term: int, timeout_s: float) -> None:
        try:
            self._client.commit(tx_id, term, timeout_s=timeout_s, incarnation=self._incarnation())
        except grpc.RpcError as error:
            raise _classify(error, "is older than") from None

    def abort(self, tx_id: str, term: int, timeout_s: float) -> None:
        try:
            self._client.abort(tx_id, term, timeout_s=timeout_s, incarnation=self._incarnation())
        except grpc.RpcError as error:
            raise _classify(error, "is older than") from None
