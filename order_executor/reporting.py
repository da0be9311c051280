"""Tells the order queue how each order ended: an ack under the lease (batched with concurrent ones), or SetState
once the lease is gone.

Bounded: an outcome the queue missed comes back when the lease expires, and the log answers it then.
"""

from __future__ import annotations

import logging
import time

import grpc

from order_executor.core.order import OrderSummary, Outcome, format_cents
from order_queue.ack_batcher import AckBatcher
from order_queue.client import OrderQueueClient
from utils.pb.order_queue import order_queue_pb2 as queue_pb

log = logging.getLogger(__name__)
_FINAL = {Outcome.COMMIT: queue_pb.COMMITTED, Outcome.ABORT: queue_pb.ABORTED}
_OK = grpc.StatusCode.OK.value[0]
_SUPERSEDED = grpc.StatusCode.FAILED_PRECONDITION.value[0]
_CODE_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}


class QueueReporter:
    def __init__(
        self, queue: OrderQueueClient, attempts_max: int = 5, backoff_max_s: float = 1.0, ack_batch_max: int = 32
    ) -> None:
        self._queue = queue
        self._attempts_max = attempts_max
        self._backoff_max_s = backoff_max_s
        self._acks = AckBatcher(queue.ack_batch, ack_batch_max)

    def report(self, order: OrderSummary, outcome: Outcome, reason: str, lease_id: str) -> None:
        total = format_cents(order.total_cents) if order.items else ""
        state = _FINAL[outcome]
        for attempt in range(self._attempts_max):
            if lease_id:
                ack = queue_pb.AckRequest(
                    order_id=order.order_id, lease_id=lease_id, outcome=state, reason=reason, total=total
                )
                result = self._acks.ack(ack)  # answered after the queue's commit
                if result.code == _OK:
                    return
                if result.code == _SUPERSEDED:
                    lease_id = ""  # a newer lease superseded ours: record the outcome without it
                else:
                    self._not_yet(
                        order.order_id, attempt, f"{_CODE_NAMES.get(result.code, result.code)}: {result.detail}"
                    )
                    continue
            try:
                self._queue.set_state(order.order_id, state, reason, total=total)
                return
            except grpc.RpcError as error:
                self._not_yet(order.order_id, attempt, str(error))
        log.error("outcome not recorded in the queue; it returns on lease expiry", extra={"tx_id": order.order_id})

    def _not_yet(self, order_id: str, attempt: int, error: str) -> None:
        log.warning(
            "outcome not recorded in the queue yet", extra={"tx_id": order_id, "attempt": attempt, "error": error}
        )
        time.sleep(min(self._backoff_max_s, 0.1 * 2**attempt))
