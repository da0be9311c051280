"""The fleet's RPC surface as the protos declare it, split into reads and mutating RPCs for the attack tests.

Derived from the generated service descriptors, so a new RPC is mutating (and must be attacked) unless it is
named here as a read, with why it changes nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Methods that change no state a caller could exploit: each one's reason. Anything else a proto declares is a
# mutating RPC and must be attacked (tests/security/test_attack_surface.py).
READS: Mapping[str, str] = {
    "/bookstore.books_database.BooksDatabase/ReadStock": "a stock read",
    "/bookstore.books_database.BooksDatabase/ListBooks": "the catalog",
    "/bookstore.books_database.BooksDatabase/GetTransaction": "a transaction record, read as evidence",
    "/bookstore.books_database.BooksDatabase/Status": "the replica's role and term",
    "/bookstore.books_database.BooksDatabase/GetFence": "the incarnation followed and its newest term",
    "/bookstore.books_database.BooksDatabase/OperatorListInDoubt": "the in-doubt transactions, listed",
    "/bookstore.payment_service.PaymentService/GetPayment": "a payment's state",
    "/bookstore.payment_service.PaymentService/GetFence": "the incarnation followed and its newest term",
    "/bookstore.payment_service.PaymentService/OperatorListInDoubt": "the in-doubt transactions, listed",
    "/bookstore.order_executor.OrderExecutor/Status": "the replica's role and term",
    "/bookstore.order_executor.OrderExecutor/GetTimeline": "one replica's journal of a transaction",
    "/bookstore.order_queue.OrderQueue/GetOrder": "one order's record",
    "/bookstore.order_queue.OrderQueue/Stats": "queue depth",
    "/bookstore.raft.Raft/Status": "the replica's role and term",
}
# GetDecision is a read of the decision log, yet asking may make the leader decide ABORT for an unknown
# transaction (presumed abort): it is attacked as a mutating RPC, on purpose.


def proto_methods() -> frozenset[str]:
    """Every '/package.Service/Method' the protos in utils/pb declare (their generated descriptors)."""
    names: set[str] = set()
    for pb2 in sorted((ROOT / "utils" / "pb").glob("*/*_pb2.py")):
        module = importlib.import_module(".".join(pb2.relative_to(ROOT).with_suffix("").parts))
        for service in module.DESCRIPTOR.services_by_name.values():
            names.update(f"/{service.full_name}/{m.name}" for m in service.methods)
    return frozenset(names)


def mutating_methods() -> frozenset[str]:
    return proto_methods() - READS.keys()
