"""Tells the order queue how each order ended: Ack under the lease, or SetState once the lease is gone.

Bounded: an outcome the queue missed comes back when the lease expires, and the log answers it then.
"""

from __future__ import annotations

import logging
import time

import grpc

from order_executor.core.order import OrderSummary, Outcome, format_cents
from order_queue.client import OrderQueueClient
from utils.pb.order_queue import order_queue_pb2 as queue_pb

log = logging.getLogger(__name__)
_FINAL = {Outcome.COMMIT: queue_pb.COMMITTED, Outcome.ABORT: queue_pb.ABORTED}


class QueueReporter:
    def __init__(self, queue: OrderQueueClient, attempts_max: int = 5, backoff_max_s: float = 1.0) -> None:
        self._queue = queue
        self._attempts_max = attempts_max
        self._backoff_max_s = backoff_max_s

    def set_executing(self, order_id: str, lease_id: str) -> None:
        try:
            self._queue.set_state(order_id, queue_pb.EXECUTING, lease_id=lease_id)
        except grpc.RpcError as error:  # only the status shown to the user: the transaction goes on
            log.info("could not mark EXECUTING", extra={"tx_id": order_id, "error": str(error)})

    def report(self, order: OrderSummary, outcome: Outcome, reason: str, lease_id: str) -> None:
        total = format_cents(order.total_cents) if order.items else ""
        state = _FINAL[outcome]
        for attempt in range(self._attempts_max):
            try:
                if lease_id:
                    try:
                        self._queue.ack(order.order_id, lease_id, state, reason, total)
                        return
                    except grpc.RpcError as error:
                        if error.code() is not grpc.StatusCode.FAILED_PRECONDITION:
                            raise
                        lease_id = ""  # a newer lease superseded ours: record the outcome without it
                self._queue.set_state(order.order_id, state, reason, total=total)
                return
            except grpc.RpcError as error:
                log.warning(
                    "outcome not recorded in the queue yet",
                    extra={"tx_id": order.order_id, "attempt": attempt, "error": str(error)},
                )
                time.sleep(min(self._backoff_max_s, 0.1 * 2**attempt))
        log.error("outcome not recorded in the queue; it returns on lease expiry", extra={"tx_id": order.order_id})
