"""The BooksDatabase servicer: parse the request → propose or read through Raft → map the result to a reply.

Only the primary serves; a follower redirects (FAILED_PRECONDITION + x-leader-address). Status is local.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, NoReturn, Protocol, TypeVar

import grpc

from books_database.core.commands import (
    AbortTransaction,
    AdoptIncarnation,
    Command,
    CommandError,
    CommitTransaction,
    DecrementStock,
    IncrementStock,
    Item,
    PrepareTransaction,
    ResolveTransaction,
    encode_command,
)
from books_database.core.results import (
    BookView,
    FenceAdopted,
    Reason,
    Refused,
    StockChanged,
    Transaction,
    TransactionEnded,
    TxState,
    Vote,
)
from books_database.core.state_machine import BooksStateMachine
from utils.pb.books_database import books_database_pb2 as pb
from utils.pb.books_database import books_database_pb2_grpc as pb_grpc
from utils.pb.twopc import twopc_pb2 as twopc_pb
from utils.raft.errors import NotLeader, RaftUnavailable
from utils.raft.status import RaftStatus
from utils.rpc.status import RaftErrorWire, Unavailability, abort, abort_for_raft_error

log = logging.getLogger(__name__)
T = TypeVar("T")

REPLY_MARGIN_S = 0.05  # answer this long before the caller's deadline, so it gets our status, not its own timeout
IN_DOUBT_LISTED_MAX = 1_000  # PREPARED transactions one OperatorListInDoubt returns; the operator runs again for more
ASKED_MAX = 1_000  # ids one OperatorListInDoubt may ask about

_REFUSAL_CODES: dict[Reason, grpc.StatusCode] = {
    Reason.UNKNOWN_BOOK: grpc.StatusCode.NOT_FOUND,
    Reason.UNKNOWN_TRANSACTION: grpc.StatusCode.NOT_FOUND,
    Reason.STALE_TERM: grpc.StatusCode.FAILED_PRECONDITION,
    Reason.CONFLICT: grpc.StatusCode.FAILED_PRECONDITION,
    Reason.MALFORMED_COMMAND: grpc.StatusCode.INTERNAL,
    Reason.INCARNATION_CHANGED: grpc.StatusCode.FAILED_PRECONDITION,
}
_TX_STATES = {TxState.PREPARED: pb.PREPARED, TxState.COMMITTED: pb.COMMITTED, TxState.ABORTED: pb.ABORTED}
_SHARED_STATES = {
    None: twopc_pb.TX_STATE_NONE,
    TxState.PREPARED: twopc_pb.TX_STATE_PREPARED,
    TxState.COMMITTED: twopc_pb.TX_STATE_COMMITTED,
    TxState.ABORTED: twopc_pb.TX_STATE_ABORTED,
}


class ReplicaNode(Protocol):
    """What the servicer needs from utils.raft.RaftNode (a fake in unit tests)."""

    def propose(self, command: bytes, timeout_s: float | None = None) -> Any: ...
    def read(self, fn: Callable[[Any], T], timeout_s: float | None = None) -> T: ...
    def read_local(self, fn: Callable[[Any], T]) -> tuple[int, T]: ...
    def status(self) -> RaftStatus: ...


class BooksDatabaseServicer(pb_grpc.BooksDatabaseServicer):
    def __init__(self, node: ReplicaNode, address: str, request_timeout_s: float) -> None:
        self._node = node
        self._address = address
        self._request_timeout_s = request_timeout_s

    # ---- reads ---------------------------------------------------------------------------------

    def ReadStock(self, request: pb.ReadStockRequest, context: grpc.ServicerContext) -> pb.ReadStockResponse:
        book = self._read(context, lambda m: m.book(request.book_id))
        if book is None:
            abort(
                context,
                grpc.StatusCode.NOT_FOUND,
                f"no book with id {request.book_id!r}",
                reason=Reason.UNKNOWN_BOOK.value,
            )
        return pb.ReadStockResponse(book_id=book.id, stock=book.stock, reserved=book.reserved, available=book.available)

    def ListBooks(self, request: pb.ListBooksRequest, context: grpc.ServicerContext) -> pb.ListBooksResponse:
        return pb.ListBooksResponse(books=[_book(b) for b in self._read(context, lambda m: m.books())])

    def GetTransaction(
        self, request: pb.GetTransactionRequest, context: grpc.ServicerContext
    ) -> pb.GetTransactionResponse:
        tx: Transaction | None = self._read(context, lambda m: m.transaction(request.tx_id))
        if tx is None:
            abort(
                context,
                grpc.StatusCode.NOT_FOUND,
                f"no transaction {request.tx_id!r}",
                reason=Reason.UNKNOWN_TRANSACTION.value,
            )
        return pb.GetTransactionResponse(
            tx_id=tx.tx_id,
            state=_TX_STATES[tx.state],
            items=_items(tx.items),
            coordinator_term=tx.coordinator_term,
            reason=_reason(tx.reason),
        )

    # ---- stock writes --------------------------------------------------------------------------

    def DecrementStock(self, request: pb.StockChangeRequest, context: grpc.ServicerContext) -> pb.StockChangeResponse:
        command = _parse(context, lambda: DecrementStock(request.book_id, request.amount, request.request_id))
        return _stock_reply(context, self._propose(context, command))

    def IncrementStock(self, request: pb.StockChangeRequest, context: grpc.ServicerContext) -> pb.StockChangeResponse:
        command = _parse(context, lambda: IncrementStock(request.book_id, request.amount, request.request_id))
        return _stock_reply(context, self._propose(context, command))

    # ---- 2PC participant -----------------------------------------------------------------------

    def PrepareTransaction(self, request: pb.PrepareRequest, context: grpc.ServicerContext) -> pb.PrepareResponse:
        command = _parse(
            context,
            lambda: PrepareTransaction.of(
                request.tx_id,
                [Item(i.book_id, i.quantity) for i in request.items],
                request.coordinator_term,
                request.incarnation,
            ),
        )
        result = self._propose(context, command)
        if not isinstance(result, Vote):
            _refuse(context, result)
        return pb.PrepareResponse(
            tx_id=result.tx_id,
            vote=pb.VOTE_COMMIT if result.commit else pb.VOTE_ABORT,
            reservations=_items(result.reservations),
            reason=_reason(result.reason),
            detail=result.detail,
            state=_TX_STATES[result.state],
        )

    def CommitTransaction(self, request: pb.CommitRequest, context: grpc.ServicerContext) -> pb.TransactionOutcome:
        command = _parse(
            context, lambda: CommitTransaction(request.tx_id, request.coordinator_term, request.incarnation)
        )
        return _outcome(context, self._propose(context, command))

    def AbortTransaction(self, request: pb.AbortRequest, context: grpc.ServicerContext) -> pb.TransactionOutcome:
        command = _parse(
            context, lambda: AbortTransaction(request.tx_id, request.coordinator_term, request.incarnation)
        )
        return _outcome(context, self._propose(context, command))

    # ---- this replica --------------------------------------------------------------------------

    def Status(self, request: pb.StatusRequest, context: grpc.ServicerContext) -> pb.StatusResponse:
        status = self._node.status()
        reply = pb.StatusResponse(
            node_id=status.node_id,
            address=self._address,
            role=status.role.value if status.running else "stopped",
            term=status.term,
            leader_id=status.leader_id or "",
            leader_address=status.leader_address or "",
            commit_index=status.commit_index,
            applied_index=status.applied_index,
            log_size=status.log_entries,
            snapshot_index=status.snapshot_index,
        )
        try:
            applied, (state_hash, fence) = self._node.read_local(
                lambda store: store.query(lambda m: (m.state_hash(), m.fence))
            )
        except RaftUnavailable:
            return reply  # stopping: the Raft fields still help an operator
        reply.applied_index, reply.state_hash, reply.highest_coordinator_term = applied, state_hash, fence.newest
        reply.incarnation = fence.incarnation
        return reply

    # ---- the fence, and the operator's recovery after the executor group lost its data (docs/operations.md) ----

    def GetFence(self, request: twopc_pb.GetFenceRequest, context: grpc.ServicerContext) -> twopc_pb.Fence:
        fence = self._read(context, lambda m: m.fence)
        return twopc_pb.Fence(incarnation=fence.incarnation, newest_term=fence.newest)

    def OperatorListInDoubt(
        self, request: twopc_pb.OperatorListInDoubtRequest, context: grpc.ServicerContext
    ) -> twopc_pb.OperatorListInDoubtReply:
        if len(request.tx_ids) > ASKED_MAX:
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, f"at most {ASKED_MAX} tx_ids per call")
        limit = min(request.limit or IN_DOUBT_LISTED_MAX, IN_DOUBT_LISTED_MAX)
        asked_ids = list(request.tx_ids)
        in_doubt, asked, fence = self._read(
            context, lambda m: (m.in_doubt(), [m.transaction(tx) for tx in asked_ids], m.fence)
        )
        return twopc_pb.OperatorListInDoubtReply(
            in_doubt=[_shared(t.tx_id, t) for t in in_doubt[:limit]],
            asked=[_shared(tx_id, t) for tx_id, t in zip(asked_ids, asked, strict=True)],
            fence=twopc_pb.Fence(incarnation=fence.incarnation, newest_term=fence.newest),
            truncated=len(in_doubt) > limit,
        )

    def OperatorResolve(
        self, request: twopc_pb.OperatorResolveRequest, context: grpc.ServicerContext
    ) -> twopc_pb.OperatorResolveReply:
        command = _parse(context, lambda: ResolveTransaction(request.tx_id, request.commit))
        before = self._read(context, lambda m: m.transaction(request.tx_id))
        result = self._propose(context, command)
        if not isinstance(result, TransactionEnded):
            _refuse(context, result)
        log.warning(
            "in-doubt transaction resolved by the operator",
            extra={"tx_id": request.tx_id, "commit": request.commit, "state": result.state.value},
        )
        changed = before is None or before.state is not result.state
        return twopc_pb.OperatorResolveReply(state=_SHARED_STATES[result.state], changed=changed)

    def OperatorAdoptIncarnation(
        self, request: twopc_pb.OperatorAdoptIncarnationRequest, context: grpc.ServicerContext
    ) -> twopc_pb.OperatorAdoptIncarnationReply:
        command = _parse(context, lambda: AdoptIncarnation(request.incarnation, request.coordinator_term))
        result = self._propose(context, command)
        if not isinstance(result, FenceAdopted):
            _refuse(context, result)
        log.warning(
            "executor-group incarnation adopted by the operator",
            extra={"before": result.before[0], "after": result.after[0], "term": result.after[1]},
        )
        return twopc_pb.OperatorAdoptIncarnationReply(
            before=twopc_pb.Fence(incarnation=result.before[0], newest_term=result.before[1]),
            after=twopc_pb.Fence(incarnation=result.after[0], newest_term=result.after[1]),
        )

    # ---- Raft, with errors mapped to status codes ----------------------------------------------

    def _timeout_s(self, context: grpc.ServicerContext) -> float:
        remaining = context.time_remaining()
        if remaining is None:
            return self._request_timeout_s
        return max(0.001, min(self._request_timeout_s, remaining - REPLY_MARGIN_S))

    def _propose(self, context: grpc.ServicerContext, command: Command) -> Any:
        try:
            return self._node.propose(encode_command(command), timeout_s=self._timeout_s(context))
        except (NotLeader, RaftUnavailable) as error:
            abort_for_raft_error(context, error, RAFT_ERROR_WIRE)

    def _read(self, context: grpc.ServicerContext, fn: Callable[[BooksStateMachine], T]) -> T:
        try:
            result: T = self._node.read(lambda store: store.query(fn), timeout_s=self._timeout_s(context))
            return result
        except (NotLeader, RaftUnavailable) as error:
            abort_for_raft_error(context, error, RAFT_ERROR_WIRE)


def _describe(error: NotLeader | RaftUnavailable) -> str:
    if isinstance(error, NotLeader):
        if error.leader_address:
            return f"not the primary; the primary is {error.leader_id} at {error.leader_address}"
        return "no primary elected yet; retry shortly"
    if error.overloaded:
        return f"primary overloaded: {error.reason}"
    return f"no quorum: {error.reason}"


# Two replicas down, or leadership lost mid-write. A write retried with its request id / tx id is applied
# at most once, so UNAVAILABLE (retry) is the honest code even when the outcome is unknown; the metadata
# says which, since a bare UNAVAILABLE (a connection cut mid-call) must count as unknown. With no primary
# elected yet there is nobody to redirect to: UNAVAILABLE, certainly not applied.
RAFT_ERROR_WIRE = RaftErrorWire(Unavailability.OUTCOME_METADATA, redirect_without_leader=False, describe=_describe)


def _parse(context: grpc.ServicerContext, build: Callable[[], Command]) -> Any:
    try:
        return build()
    except CommandError as error:
        abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(error))


def _refuse(context: grpc.ServicerContext, result: Any) -> NoReturn:
    if isinstance(result, Refused):
        abort(context, _REFUSAL_CODES[result.reason], result.detail, reason=result.reason.value)
    # A result of the wrong kind for the write is a bug somewhere below: log enough to find it.
    log.error("unexpected write result", extra={"result_type": type(result).__name__, "result": repr(result)[:300]})
    abort(context, grpc.StatusCode.INTERNAL, f"unexpected result {type(result).__name__}")


def _stock_reply(context: grpc.ServicerContext, result: Any) -> pb.StockChangeResponse:
    if not isinstance(result, StockChanged):
        _refuse(context, result)
    return pb.StockChangeResponse(
        success=result.ok,
        book_id=result.book_id,
        stock=result.stock,
        reserved=result.reserved,
        available=result.available,
        reason=_reason(result.reason),
    )


def _outcome(context: grpc.ServicerContext, result: Any) -> pb.TransactionOutcome:
    if not isinstance(result, TransactionEnded):
        _refuse(context, result)
    return pb.TransactionOutcome(tx_id=result.tx_id, state=_TX_STATES[result.state])


def _shared(tx_id: str, tx: Transaction | None) -> twopc_pb.TxStateRecord:
    return twopc_pb.TxStateRecord(
        tx_id=tx_id,
        state=_SHARED_STATES[tx.state if tx is not None else None],
        coordinator_term=tx.coordinator_term if tx is not None else 0,
    )


def _book(book: BookView) -> pb.Book:
    return pb.Book(
        id=book.id,
        title=book.title,
        author=book.author,
        category=book.category,
        price=book.price,
        stock=book.stock,
        reserved=book.reserved,
        available=book.available,
    )


def _items(items: tuple[Item, ...]) -> list[pb.Item]:
    return [pb.Item(book_id=i.book_id, quantity=i.quantity) for i in items]


def _reason(reason: Reason | None) -> Any:
    return pb.Reason.Value(reason.value) if reason is not None else pb.REASON_UNSPECIFIED
