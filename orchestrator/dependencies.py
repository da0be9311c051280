"""What the gateway's views depend on, injected by the app factory: tests pass fakes, main() real clients."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from flask import current_app

from orchestrator.books_source import BooksSource
from orchestrator.checkout import CheckoutService, Flow
from orchestrator.cluster_view import ClusterView
from orchestrator.idempotency import IdempotencyStore
from utils.pb.order_queue import order_queue_pb2 as queue_pb

EXTENSION = "bookstore"


class GatewayQueue(Protocol):
    """What the views ask of the order queue (order_queue.client.OrderQueueClient fits); the checkout reaches
    it through orchestrator.queue_adapter."""

    def get_order(self, order_id: str) -> queue_pb.OrderRecord | None: ...
    def stats(self, timeout_s: float | None = None) -> queue_pb.StatsReply: ...
    def is_serving(self, timeout_s: float = 0.5) -> bool: ...


@dataclass(frozen=True, slots=True)
class Dependencies:
    flow: Flow
    queue: GatewayQueue
    books: BooksSource
    cluster: ClusterView
    idempotency: IdempotencyStore
    checkout: CheckoutService
    # More gRPC dependencies for /readyz, by service name (e.g. the payment service that tokenizes cards).
    probes: Mapping[str, Callable[[], bool]] = field(default_factory=dict)


def deps() -> Dependencies:
    """The dependencies of the app serving the current request."""
    found: Dependencies = current_app.extensions[EXTENSION]
    return found
