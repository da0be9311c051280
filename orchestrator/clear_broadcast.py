"""The broadcast of final clocks after each checkout (docs/design.md §3.4), sent in batches: one ClearOrders per
validation service carrying up to 64 orders, flushed once full or after a bounded wait (0.5 s; issue 14).

One lane per service (its pending batch and its sender thread, utils/batching/flusher.py), so a service that is
slow or down delays only its own clears; each lane's backlog is bounded (past it a clear is skipped, logged and
counted; the ttl ends it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import grpc

from utils.batching.core.due_batch import DueBatch, DueBatchLimits
from utils.batching.flusher import DueFlusher
from utils.flow.core.checkout import Service
from utils.flow.core.clear_batch import PendingClear, clear_batch_limits
from utils.flow.core.vclock import VectorClock
from utils.pb.common import common_pb2
from utils.rpc import correlation, deadline
from utils.rpc.client import call
from utils.telemetry import meter

log = logging.getLogger("orchestrator.validation_flow")
# The per-order outcome labels, as the service answers them (and the two of our own: skipped, error).
_OUTCOME_NAMES = {
    common_pb2.CLEAR_OUTCOME_CLEARED: "cleared",
    common_pb2.CLEAR_OUTCOME_CONFLICT: "conflict",
    common_pb2.CLEAR_OUTCOME_UNKNOWN_ORDER: "unknown_order",
    common_pb2.CLEAR_OUTCOME_UNSPECIFIED: "unspecified",
}


class _Lane:
    """One service's pending clears and the thread that sends them (clears held at stop are dropped: the ttl)."""

    def __init__(
        self,
        service: Service,
        rpc: Callable[..., Any],
        limits: DueBatchLimits,
        rpc_timeout_s: float,
        clears: Any,
        batch_sizes: Any,
        monotonic: Callable[[], float],
    ) -> None:
        self.service = service
        self._rpc = rpc
        self._rpc_timeout_s = rpc_timeout_s
        self._clears = clears
        self._batch_sizes = batch_sizes
        self._now = monotonic
        self._attributes = {
            name: {"service": service.value, "outcome": name} for name in [*_OUTCOME_NAMES.values(), "skipped", "error"]
        }
        self._service_attributes = {"service": service.value}
        self._flusher: DueFlusher[PendingClear] = DueFlusher(
            DueBatch(limits),
            self._send,
            name=f"flow-clear-{service.value}",
            clock=monotonic,
            started=False,
            keep_thread=True,  # at checkout rates a batch goes every wait_s: one thread per lane, not one per batch
        )

    def start(self) -> None:
        self._flusher.start()

    def stop(self) -> None:
        self._flusher.stop()

    def add(self, order_id: str, final: VectorClock, correlation_id: str) -> None:
        clear = PendingClear(order_id, final, correlation_id)
        with self._flusher.holding() as batch:
            added = batch.add(clear, self._now())
        if not added:
            self._clears.add(1, self._attributes["skipped"])
            log.warning("clear skipped: backlog full", extra={"order_id": order_id, "service": self.service.value})

    def pending(self) -> int:
        return self._flusher.pending()

    def _send(self, batch: tuple[PendingClear, ...]) -> None:
        """On the lane's sender thread (a crash here is logged there, and the lane goes on)."""
        request = common_pb2.ClearOrdersRequest(
            orders=[
                common_pb2.ClearOrderRequest(
                    order_id=p.order_id, final_clock=p.final.to_proto(), correlation_id=p.correlation_id
                )
                for p in batch
            ]
        )
        self._batch_sizes.record(len(batch), self._service_attributes)
        # Its own deadline, not a checkout's: every shopper in the batch has the answer already.
        token = deadline.set_deadline_in(None)
        try:
            reply = call(self._rpc, request, timeout_s=self._rpc_timeout_s)
        except grpc.RpcError as error:
            self._clears.add(len(batch), self._attributes["error"])
            log.warning(
                "clear batch failed",
                extra={"service": self.service.value, "orders": len(batch), "code": error.code().name},
            )
            return
        finally:
            deadline.reset_deadline(token)
        if len(reply.results) != len(batch):
            self._clears.add(len(batch), self._attributes["error"])
            log.error(
                "clear batch answered for other orders than asked",
                extra={"service": self.service.value, "orders": len(batch), "results": len(reply.results)},
            )
            return
        for pending, result in zip(batch, reply.results, strict=True):
            self._clears.add(1, self._attributes[_OUTCOME_NAMES.get(result.outcome, "unspecified")])
            if result.outcome == common_pb2.CLEAR_OUTCOME_CONFLICT:
                cid = correlation.set_correlation_id(pending.correlation_id)
                try:
                    log.warning(
                        "clear conflict",
                        extra={
                            "order_id": pending.order_id,
                            "service": self.service.value,
                            "service_clock": str(VectorClock.from_proto(result.clock)),
                        },
                    )
                finally:
                    correlation.reset_correlation_id(cid)


class ClearBroadcaster:
    """Thread-safe. `start()` once; `broadcast` never blocks on the network; `stop()` ends the senders (clears not
    yet sent are left to the services' ttl)."""

    def __init__(
        self,
        rpcs: Mapping[Service, Callable[..., Any]],
        rpc_timeout_s: float,
        *,
        orders_max: int,
        wait_s: float,
        backlog_max: int,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        m = meter("orchestrator.validation_flow")
        clears = m.create_counter(
            "validation_flow_clears", unit="1", description="per-service clear answers, by outcome (conflict!)"
        )
        batch_sizes = m.create_histogram(
            "validation_flow_clear_batch_orders",
            unit="1",
            description="orders per ClearOrders call, by service",
            explicit_bucket_boundaries_advisory=(1, 2, 4, 8, 16, 32, 64),
        )
        limits = clear_batch_limits(orders_max=orders_max, wait_s=wait_s, backlog_max=backlog_max)
        self._lanes = {
            service: _Lane(
                service,
                rpc,
                limits,
                rpc_timeout_s,
                clears,
                batch_sizes,
                monotonic,
            )
            for service, rpc in rpcs.items()
        }

    def start(self) -> None:
        for lane in self._lanes.values():
            lane.start()

    def stop(self) -> None:
        for lane in self._lanes.values():
            lane.stop()

    def broadcast(self, order_id: str, final: VectorClock) -> None:
        cid = correlation.current_correlation_id()
        for lane in self._lanes.values():
            lane.add(order_id, final, cid)

    def pending(self) -> dict[Service, int]:
        """Clears waiting per service (for tests and debugging)."""
        return {service: lane.pending() for service, lane in self._lanes.items()}
