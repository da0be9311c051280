"""The payment service's gRPC servicer: parse, step the ledger core under the store's transaction, map the reply.

Fault injection (decline, delay, unreachable) lives here, at the edge, so the core stays deterministic.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass

import grpc

from payment_service.core import ledger
from payment_service.core.ledger import Limits, Message, Outcome, PaymentState, Reply, step
from payment_service.store import LedgerStore
from payment_service.tokens import InvalidCard, tokenize
from utils.pb.payment_service import payment_service_pb2 as pb
from utils.pb.payment_service import payment_service_pb2_grpc as pb_grpc
from utils.rpc.status import abort
from utils.telemetry import meter

log = logging.getLogger(__name__)
SERVICE_NAME = "bookstore.payment_service.PaymentService"
TX_ID_CHARS_MAX = 128

_STATE_TO_PB = {
    PaymentState.NONE: pb.PAYMENT_STATE_NONE,
    PaymentState.PREPARED: pb.PAYMENT_STATE_PREPARED,
    PaymentState.CAPTURED: pb.PAYMENT_STATE_CAPTURED,
    PaymentState.VOIDED: pb.PAYMENT_STATE_VOIDED,
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
        try:
            record = tokenize(request.card_number, request.expiration_date, self._key)
        except InvalidCard as error:
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(error))
        self._store.save_token(record)
        log.info("card tokenized", extra={"card_last4": record.card_last4})
        return pb.TokenizeReply(token=record.token, card_last4=record.card_last4)

    # ---- 2PC ---------------------------------------------------------------------------------------------------------
    def Prepare(self, request: pb.PrepareRequest, context: grpc.ServicerContext) -> pb.PrepareReply:
        self._inject_faults(context, delay=True)
        _check_tx(request.tx_id, request.coordinator_term, context)
        card = self._store.card_facts(request.token)
        with self._rng_lock:
            injected = self._rng.random() * 100 < self._faults.decline_percent
        message = ledger.Prepare(request.tx_id, request.amount_cents, request.coordinator_term, card, injected)
        outcome = self._step(message, context)
        vote = pb.VOTE_COMMIT if outcome.reply is Reply.VOTE_COMMIT else pb.VOTE_ABORT
        return pb.PrepareReply(vote=vote, reason=outcome.reason, state=_STATE_TO_PB[outcome.state])

    def Commit(self, request: pb.DecisionRequest, context: grpc.ServicerContext) -> pb.DecisionReply:
        return self._decide(ledger.Commit(request.tx_id, request.coordinator_term), context)

    def Abort(self, request: pb.DecisionRequest, context: grpc.ServicerContext) -> pb.DecisionReply:
        return self._decide(ledger.Abort(request.tx_id, request.coordinator_term), context)

    def _decide(self, message: ledger.Commit | ledger.Abort, context: grpc.ServicerContext) -> pb.DecisionReply:
        self._inject_faults(context, delay=False)
        _check_tx(message.tx_id, message.term, context)
        outcome = self._step(message, context)
        return pb.DecisionReply(state=_STATE_TO_PB[outcome.state], changed=outcome.persist is not None)

    def _step(self, message: Message, context: grpc.ServicerContext) -> Outcome:
        outcome = self._store.transact(
            message.tx_id, lambda record, term_seen: step(record, term_seen, message, self._limits)
        )
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
            abort(context, grpc.StatusCode.FAILED_PRECONDITION, f"stale coordinator term: {outcome.reason}")
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


def _check_tx(tx_id: str, term: int, context: grpc.ServicerContext) -> None:
    if not tx_id or len(tx_id) > TX_ID_CHARS_MAX:
        abort(context, grpc.StatusCode.INVALID_ARGUMENT, f"tx_id must have 1 to {TX_ID_CHARS_MAX} characters")
    if term < 0:
        abort(context, grpc.StatusCode.INVALID_ARGUMENT, "coordinator_term must not be negative")
