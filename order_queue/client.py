"""A typed client of the order queue: one channel, a deadline on every call, NOT_FOUND as None.

Used by the orchestrator (enqueue, rejected records, order status, stats) and by workers (lease, ack, in batches).
Other failures surface as grpc.RpcError for the caller to map.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from utils.pb.order_queue import order_queue_pb2 as pb
from utils.pb.order_queue import order_queue_pb2_grpc as pb_grpc
from utils.rpc.client import call, open_channel
from utils.tls import FleetTls

PEER = "order_queue"  # the identity its certificate names


class OrderQueueClient:
    def __init__(
        self,
        address: str,
        timeout_s: float = 2.0,
        tls: FleetTls | None = None,  # the identity to call as; None = the process's own
        channel: grpc.Channel | None = None,  # instead of opening one (tests)
    ) -> None:
        self.address = address
        self.timeout_s = timeout_s
        self._channel = channel or open_channel(address, PEER, tls=tls)
        self._stub = pb_grpc.OrderQueueStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def enqueue(self, order: pb.Order) -> pb.EnqueueReply:
        reply: pb.EnqueueReply = call(self._stub.Enqueue, pb.EnqueueRequest(order=order), timeout_s=self.timeout_s)
        return reply

    def record_rejected(self, order: pb.Order, reason: str) -> bool:
        reply = call(
            self._stub.RecordRejected, pb.RecordRejectedRequest(order=order, reason=reason), timeout_s=self.timeout_s
        )
        return bool(reply.created)

    def get_order(self, order_id: str) -> pb.OrderRecord | None:
        try:
            record: pb.OrderRecord = call(
                self._stub.GetOrder, pb.GetOrderRequest(order_id=order_id), timeout_s=self.timeout_s
            )
            return record
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise

    def stats(self, timeout_s: float | None = None) -> pb.StatsReply:
        reply: pb.StatsReply = call(self._stub.Stats, pb.StatsRequest(), timeout_s=timeout_s or self.timeout_s)
        return reply

    def lease_batch(self, worker_id: str, lease_s: float, count_max: int, wait_s: float) -> list[pb.LeaseReply]:
        """Up to count_max orders, each leased and already EXECUTING; the queue waits up to wait_s when none is
        queued, so the deadline is wait_s more than a plain call's."""
        request = pb.LeaseBatchRequest(worker_id=worker_id, lease_s=lease_s, count_max=count_max, wait_s=wait_s)
        reply: pb.LeaseBatchReply = call(self._stub.LeaseBatch, request, timeout_s=self.timeout_s + wait_s)
        return list(reply.leases)

    def ack_batch(self, acks: Sequence[pb.AckRequest]) -> list[pb.AckResult]:
        """One result per ack, in order (each with its own status code); one commit at the queue for all."""
        reply: pb.AckBatchReply = call(self._stub.AckBatch, pb.AckBatchRequest(acks=acks), timeout_s=self.timeout_s)
        if len(reply.results) != len(acks):
            raise ValueError(f"AckBatch answered {len(reply.results)} results for {len(acks)} acks")
        return list(reply.results)

    def nack(self, order_id: str, lease_id: str) -> pb.OrderState:
        reply: pb.NackReply = call(
            self._stub.Nack, pb.NackRequest(order_id=order_id, lease_id=lease_id), timeout_s=self.timeout_s
        )
        return reply.state

    def set_state(
        self, order_id: str, state: pb.OrderState, reason: str = "", lease_id: str = "", total: str = ""
    ) -> pb.OrderState:
        request = pb.SetStateRequest(order_id=order_id, state=state, reason=reason, lease_id=lease_id, total=total)
        reply: pb.SetStateReply = call(self._stub.SetState, request, timeout_s=self.timeout_s)
        return reply.state

    def is_serving(self, timeout_s: float = 0.5) -> bool:
        try:
            reply = call(self._health.Check, health_pb2.HealthCheckRequest(), timeout_s=timeout_s)
        except grpc.RpcError:
            return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)
