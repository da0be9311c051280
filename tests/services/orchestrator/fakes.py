"""Fakes of the gateway's dependencies: a validation flow with the course's rules in miniature, an
in-memory order queue, a books source with stock, and a fixed cluster view.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import grpc

from orchestrator.books_source import BookView, UnknownBook
from orchestrator.checkout import SuggestedBook, ValidationOutcome
from orchestrator.checkout_errors import DependencyUnavailable
from utils.catalog import Book, Catalog
from utils.catalog.file import load_catalog
from utils.order.order import Order
from utils.pb.order_queue import order_queue_pb2 as queue_pb

GOOD_CARD = "4111111111111111"
CLOCK = {"transaction_verification": 3, "fraud_detection": 2, "suggestions": 1}


class FakeRpcError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode) -> None:
        super().__init__(code.name)
        self._code = code

    def code(self) -> grpc.StatusCode:
        return self._code


@dataclass
class FakeFlow:
    """Approves the seed's order; rejects a bad card, unknown books or unaccepted terms."""

    down: str | None = None  # a service name: validate() raises DependencyUnavailable
    gate: threading.Event | None = None  # when set, validate() waits for it (to test 409)
    entered: threading.Event = field(default_factory=threading.Event)
    validated: list[tuple[str, Order]] = field(default_factory=list)
    cleared: list[tuple[str, dict[str, int]]] = field(default_factory=list)

    def validate(self, order: Order) -> ValidationOutcome:
        self.validated.append((order.order_id, order))
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(10), "test gate never opened"
        if self.down:
            raise DependencyUnavailable(self.down, "UNAVAILABLE")
        reasons = []
        if not order.items:
            reasons.append("The cart is empty")
        for item in order.items:
            if not item.found:  # resolved by the gateway: the flow never looks the catalog up again
                reasons.append(f"Unknown book: {item.label}")
        if order.credit_card.number != GOOD_CARD:
            reasons.append("Invalid credit card format")
        if not order.terms_accepted:
            reasons.append("Terms and conditions not accepted")
        if reasons:
            return ValidationOutcome(False, tuple(reasons), (), {"transaction_verification": 1})
        suggestions = tuple(SuggestedBook(b.id, b.title, b.author) for b in load_catalog().books[:3])
        return ValidationOutcome(True, (), suggestions, dict(CLOCK))

    def broadcast_clear(self, order_id: str, final_clock: dict[str, int]) -> None:
        self.cleared.append((order_id, final_clock))

    def readiness(self) -> dict[str, bool]:
        names = ("transaction_verification", "fraud_detection", "suggestions")
        return {name: name != self.down for name in names}


@dataclass
class FakeQueue:
    down: bool = False
    full: bool = False
    records: dict[str, queue_pb.OrderRecord] = field(default_factory=dict)

    def _check(self) -> None:
        if self.down:
            raise FakeRpcError(grpc.StatusCode.UNAVAILABLE)

    def enqueue(self, order: queue_pb.Order) -> queue_pb.EnqueueReply:
        self._check()
        if self.full:
            raise FakeRpcError(grpc.StatusCode.RESOURCE_EXHAUSTED)
        created = order.order_id not in self.records
        if created:
            self.records[order.order_id] = queue_pb.OrderRecord(
                order=order, state=queue_pb.QUEUED, updated_at=1_790_000_000.5
            )
        return queue_pb.EnqueueReply(order=order, created=created, depth=self.depth())

    def record_rejected(self, order: queue_pb.Order, reason: str) -> bool:
        self._check()
        self.records[order.order_id] = queue_pb.OrderRecord(
            order=order, state=queue_pb.REJECTED, reason=reason, updated_at=1_790_000_000.5
        )
        return True

    def get_order(self, order_id: str) -> queue_pb.OrderRecord | None:
        self._check()
        return self.records.get(order_id)

    def depth(self) -> int:
        return sum(r.state in (queue_pb.QUEUED, queue_pb.LEASED, queue_pb.EXECUTING) for r in self.records.values())

    def stats(self, timeout_s: float | None = None) -> queue_pb.StatsReply:
        self._check()
        return queue_pb.StatsReply(depth=self.depth(), leased=0, depth_max=100)

    def is_serving(self, timeout_s: float = 0.5) -> bool:
        return not self.down


@dataclass
class FakeBooks:
    stock: dict[str, int] = field(default_factory=lambda: {b.id: b.initial_stock for b in load_catalog().books})

    def list_books(self) -> list[BookView]:
        return [BookView(b.id, b.title, b.author, b.category, b.price, self.stock[b.id]) for b in load_catalog().books]

    def read_stock(self, book_id: str) -> int:
        if book_id not in self.stock:
            raise UnknownBook(book_id)
        return self.stock[book_id]

    def increment_stock(self, book_id: str, amount: int) -> int:
        self.stock[book_id] = self.read_stock(book_id) + amount
        return self.stock[book_id]

    def readiness(self) -> dict[str, bool]:
        return {"books_database": True}


class FakeCluster:
    def snapshot(self) -> dict[str, Any]:
        replica = {
            "id": "executor-1",
            "address": "127.0.0.1:1",
            "role": "leader",
            "term": 2,
            "leaderId": "executor-1",
            "commitIndex": 5,
            "appliedIndex": 5,
            "lastIndex": 5,
        }
        down = {
            "id": "books-1",
            "address": "127.0.0.1:2",
            "role": "unreachable",
            "term": None,
            "leaderId": None,
            "commitIndex": None,
            "appliedIndex": None,
            "lastIndex": None,
        }
        return {
            "groups": {
                "order_executor": {"leaderId": "executor-1", "term": 2, "replicas": [replica]},
                "books_database": {"leaderId": None, "term": None, "replicas": [down]},
            },
            "queue": {"available": True, "depth": 0, "leased": 0},
        }


@dataclass(frozen=True)
class CountingCatalog(Catalog):
    """The real catalog, counting its lookups (to prove each item is looked up once per checkout)."""

    lookups: list[tuple[str | None, str | None]] = field(default_factory=list)

    def find(self, book_id: str | None = None, title: str | None = None) -> Book | None:
        self.lookups.append((book_id, title))
        return Catalog.find(self, book_id, title)
