"""The payment service's gRPC servicer: parse, step the ledger core under the store's transaction, map the reply.

Fault injection (decline, delay, unreachable) lives here, at the edge, so the core stays deterministic.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc

from payment_service.core import ledger
from payment_service.core.ledger import Limits, Message, Outcome, PaymentState, Reply, resolve, step
from payment_service.store import LedgerStore
from payment_service.tokens import InvalidCard, tokenize
from utils.pb.payment_service import payment_service_pb2 as pb
from utils.pb.payment_service import payment_service_pb2_grpc as pb_grpc
from utils.pb.twopc import twopc_pb2 as twopc_pb
from utils.rpc.status import abort
from utils.telemetry import meter
from utils.twopc.core.participant import Fence

log = logging.getLogger(__name__)
SERVICE_NAME = "bookstore.payment_service.PaymentService"
TX_ID_CHARS_MAX = 128
INCARNATION_CHARS_MAX = 64
IN_DOUBT_LISTED_MAX = 1_000  # PREPARED payments one OperatorListInDoubt returns; the operator runs again for more
ASKED_MAX = 1_000  # ids one OperatorListInDoubt may ask about

_STATE_TO_PB = {
    PaymentState.NONE: pb.PAYMENT_STATE_NONE,
    PaymentState.PREPARED: pb.PAYMENT_STATE_PREPARED,
    PaymentState.CAPTURED: pb.PAYMENT_STATE_CAPTURED,
    PaymentState.VOIDED: pb.PAYMENT_STATE_VOIDED,
}
_TX_STATE = {
    PaymentState.NONE: twopc_pb.TX_STATE_NONE,
    PaymentState.PREPARED: twopc_pb.TX_STATE_PREPARED,
    PaymentState.CAPTURED: twopc_pb.TX_STATE_COMMITTED,
    PaymentState.VOIDED: twopc_pb.TX_STATE_ABORTED,
}
_steps = meter("payment_service").create_counter("payment_ledger_steps", description="2PC messages by ledger event")


@dataclass(frozen=True, slots=True)
class Faults:
    decline_percent: float = 0.0
    delay_ms: int = 0
    unreachable: bool = False


class PaymentServicer(pb_grpc.PaymentServiceServicer):
    def __init__(
        self,
        store: LedgerStore,
        fingerprint_key: bytes,
        limits: Limits = Limits(),
        faults: Faults = Faults(),
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._key = fingerprint_key
        self._limits = limits
        self._faults = faults
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()

    # ---- tokens ------------------------------------------------------------------------------------------------------
    def Tokenize(self, request: pb.TokenizeRequest, context: grpc.ServicerContext) -> pb.TokenizeReply:
        # docs/operations.md "payment tokens": a token is bound to one order and the most checkout authorised.
        if not request.order_id or len(request.order_id) > TX_ID_CHARS_MAX:
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, f"order_id must have 1 to {TX_ID_CHARS_MAX} characters")
        if request.amount_cents_max <= 0:
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, "amount_cents_max must be positive")
        try:
            record = tokenize(
                request.card_number, request.expiration_date, self._key, request.order_id, request.amount_cents_max
            )
        except InvalidCard as error:
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(error))
        self._store.save_token(record)
        log.info("card tokenized", extra={"card_last4": record.card_last4, "order_id": request.order_id})
        return pb.TokenizeReply(token=record.token, card_last4=record.card_last4)

    # ---- 2PC ---------------------------------------------------------------------------------------------------------
    def Prepare(self, request: pb.PrepareRequest, context: grpc.ServicerContext) -> pb.PrepareReply:
        self._inject_faults(context, delay=True)
        _check_tx(request.tx_id, request.coordinator_term, context, request.incarnation)
        with self._rng_lock:
            injected = self._rng.random() * 100 < self._faults.decline_percent

        def message_now() -> Message:
            # Read inside the ledger's transaction: another order taking the same token cannot slip in between.
            card = self._store.card_facts(request.token, request.tx_id)
            return ledger.Prepare(
                request.tx_id, request.amount_cents, request.coordinator_term, card, injected, request.incarnation
            )

        outcome = self._step(request.tx_id, message_now, context)
        vote = pb.VOTE_COMMIT if outcome.reply is Reply.VOTE_COMMIT else pb.VOTE_ABORT
        return pb.PrepareReply(vote=vote, reason=outcome.reason, state=_STATE_TO_PB[outcome.state])

    def Commit(self, request: pb.DecisionRequest, context: grpc.ServicerContext) -> pb.DecisionReply:
        return self._decide(ledger.Commit(request.tx_id, request.coordinator_term, request.incarnation), context)

    def Abort(self, request: pb.DecisionRequest, context: grpc.ServicerContext) -> pb.DecisionReply:
        return self._decide(ledger.Abort(request.tx_id, request.coordinator_term, request.incarnation), context)

    def _decide(self, message: ledger.Commit | ledger.Abort, context: grpc.ServicerContext) -> pb.DecisionReply:
        self._inject_faults(context, delay=False)
        _check_tx(message.tx_id, message.term, context, message.incarnation)
        outcome = self._step(message.tx_id, lambda: message, context)
        return pb.DecisionReply(state=_STATE_TO_PB[outcome.state], changed=outcome.persist is not None)

    def _step(self, tx_id: str, make: Callable[[], Message], context: grpc.ServicerContext) -> Outcome:
        """`make` builds the message inside the ledger's transaction (a Prepare reads its token's facts there)."""
        made: list[Message] = []

        def decide(record: ledger.PaymentRecord | None, fence: Fence) -> Outcome:
            made.append(make())
            return step(record, fence, made[-1], self._limits)

        outcome = self._store.transact(tx_id, decide)
        message = made[-1]
        _steps.add(1, {"event": outcome.event})
        fields = {
            "tx_id": message.tx_id,
            "term": message.term,
            "event": outcome.event,
            "reply": outcome.reply.value,
            "state": outcome.state.value,
            "reason": outcome.reason,
        }
        if outcome.reply is Reply.STALE_TERM:
            log.warning("refused a deposed coordinator", extra=fields)
            abort(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                f"stale coordinator term: {outcome.reason}",
                reason="STALE_TERM",
            )
        if outcome.reply is Reply.INCARNATION_CHANGED:
            log.error("refused another executor-group incarnation", extra=fields)
            abort(context, grpc.StatusCode.FAILED_PRECONDITION, outcome.reason, reason="INCARNATION_CHANGED")
        if outcome.reply is Reply.REFUSED:
            log.warning("refused an illegal 2PC message", extra=fields)
            abort(context, grpc.StatusCode.FAILED_PRECONDITION, outcome.reason)
        log.info(
            "2PC step" if outcome.persist is not None else "2PC duplicate or late message, nothing changed",
            extra=fields,
        )
        return outcome

    def _inject_faults(self, context: grpc.ServicerContext, delay: bool) -> None:
        if self._faults.unreachable:
            abort(context, grpc.StatusCode.UNAVAILABLE, "payment service unreachable (injected)")
        if delay and self._faults.delay_ms:
            # Before the store's transaction: an Abort that arrives meanwhile is applied first (a late Prepare).
            time.sleep(self._faults.delay_ms / 1000)

    # ---- reads -------------------------------------------------------------------------------------------------------
    def GetPayment(self, request: pb.GetPaymentRequest, context: grpc.ServicerContext) -> pb.Payment:
        stored = self._store.get(request.tx_id)
        if stored is None:
            return pb.Payment(tx_id=request.tx_id, state=pb.PAYMENT_STATE_NONE)
        r = stored.record
        return pb.Payment(
            tx_id=r.tx_id,
            state=_STATE_TO_PB[r.state],
            amount_cents=r.amount_cents,
            card_last4=r.card_last4,
            reason=r.reason,
            coordinator_term=r.term,
            updated_at=stored.updated_at,
        )

    # ---- the fence, and the operator's recovery after the executor group lost its data (docs/operations.md) --------
    def GetFence(self, request: twopc_pb.GetFenceRequest, context: grpc.ServicerContext) -> twopc_pb.Fence:
        return _fence_pb(self._store.fence())

    def OperatorListInDoubt(
        self, request: twopc_pb.OperatorListInDoubtRequest, context: grpc.ServicerContext
    ) -> twopc_pb.OperatorListInDoubtReply:
        if len(request.tx_ids) > ASKED_MAX:
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, f"at most {ASKED_MAX} tx_ids per call")
        limit = min(request.limit or IN_DOUBT_LISTED_MAX, IN_DOUBT_LISTED_MAX)
        prepared = self._store.in_state(PaymentState.PREPARED, updated_before=float("inf"), limit=limit + 1)
        asked = []
        for tx_id in request.tx_ids:
            _check_tx(tx_id, 0, context)
            stored = self._store.get(tx_id)
            asked.append(_tx_pb(tx_id, stored.record.state if stored else PaymentState.NONE, stored))
        return twopc_pb.OperatorListInDoubtReply(
            in_doubt=[_tx_pb(p.record.tx_id, p.record.state, p) for p in prepared[:limit]],
            asked=asked,
            fence=_fence_pb(self._store.fence()),
            truncated=len(prepared) > limit,
        )

    def OperatorResolve(
        self, request: twopc_pb.OperatorResolveRequest, context: grpc.ServicerContext
    ) -> twopc_pb.OperatorResolveReply:
        _check_tx(request.tx_id, 0, context)
        outcome = self._store.transact(request.tx_id, lambda r, fence: resolve(r, fence, request.tx_id, request.commit))
        fields = {"tx_id": request.tx_id, "commit": request.commit, "event": outcome.event}
        if outcome.reply is Reply.REFUSED:
            log.error("operator resolution refused", extra={**fields, "reason": outcome.reason})
            abort(context, grpc.StatusCode.FAILED_PRECONDITION, outcome.reason)
        log.warning("in-doubt payment resolved by the operator", extra=fields)
        return twopc_pb.OperatorResolveReply(state=_TX_STATE[outcome.state], changed=outcome.persist is not None)

    def OperatorAdoptIncarnation(
        self, request: twopc_pb.OperatorAdoptIncarnationRequest, context: grpc.ServicerContext
    ) -> twopc_pb.OperatorAdoptIncarnationReply:
        _check_incarnation(request.incarnation, context, required=True)
        if request.coordinator_term < 0:
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, "coordinator_term must not be negative")
        after = Fence().adopt(request.incarnation, request.coordinator_term)
        before = self._store.adopt(after)
        log.warning(
            "executor-group incarnation adopted by the operator",
            extra={"before": before.incarnation, "after": after.incarnation, "term": after.newest},
        )
        return twopc_pb.OperatorAdoptIncarnationReply(before=_fence_pb(before), after=_fence_pb(after))


def _fence_pb(fence: Fence) -> twopc_pb.Fence:
    return twopc_pb.Fence(incarnation=fence.incarnation, newest_term=fence.newest)


def _tx_pb(tx_id: str, state: PaymentState, stored: Any) -> twopc_pb.TxStateRecord:
    term = stored.record.term if stored is not None else 0
    return twopc_pb.TxStateRecord(tx_id=tx_id, state=_TX_STATE[state], coordinator_term=term)


def _check_incarnation(incarnation: str, context: grpc.ServicerContext, required: bool = False) -> None:
    if len(incarnation) > INCARNATION_CHARS_MAX or (required and not incarnation):
        abort(
            context, grpc.StatusCode.INVALID_ARGUMENT, f"incarnation must have 1 to {INCARNATION_CHARS_MAX} characters"
        )


def _check_tx(tx_id: str, term: int, context: grpc.ServicerContext, incarnation: str = "") -> None:
    if not tx_id or len(tx_id) > TX_ID_CHARS_MAX:
        abort(context, grpc.StatusCode.INVALID_ARGUMENT, f"tx_id must have 1 to {TX_ID_CHARS_MAX} characters")
    if term < 0:
        abort(context, grpc.StatusCode.INVALID_ARGUMENT, "coordinator_term must not be negative")
    _check_incarnation(incarnation, context)
