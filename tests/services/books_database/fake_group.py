"""A books database group without Raft: real gRPC servers on port 0 around fake nodes.

The "leader" applies commands to its own state at once; followers redirect to it. For servicer and client tests.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

import grpc

from books_database.core.state_machine import BooksStateMachine
from books_database.server import BooksDatabaseServicer
from books_database.store import BooksStore
from utils.catalog import Book, Catalog
from utils.pb.books_database import books_database_pb2_grpc as pb_grpc
from utils.raft.core import Role
from utils.raft.errors import NotLeader, RaftUnavailable
from utils.raft.status import RaftStatus
from utils.rpc.server import GrpcService

T = TypeVar("T")
CATALOG = Catalog(
    (Book("a", "Book A", "Ann", "x", Decimal("10.50"), 5), Book("b", "Book B", "Bob", "y", Decimal("20.00"), 2))
)


@dataclass
class FakeNode:
    """Leader when `leader_id` is its own id; `unavailable` makes every call fail as with no quorum."""

    node_id: str
    store: BooksStore = field(default_factory=lambda: BooksStore(BooksStateMachine(CATALOG)))
    leader_id: str | None = None
    leader_address: str | None = None
    unavailable: bool = False
    fail_after_apply: int = 0  # the next N proposals apply, then fail with an unknown outcome
    proposals: int = 0
    _index: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _check(self) -> None:
        if self.unavailable:
            raise RaftUnavailable("no quorum (fake)", outcome_unknown=False)
        if self.leader_id != self.node_id:
            raise NotLeader(self.leader_id, self.leader_address)

    def propose(self, command: bytes, timeout_s: float | None = None) -> Any:
        self._check()
        with self._lock:
            self.proposals += 1
            result = self.store.apply(next(self._index), command)
            if self.fail_after_apply > 0:
                self.fail_after_apply -= 1
                raise RaftUnavailable("leadership lost after append (fake)")
            return result

    def read(self, fn: Callable[[Any], T], timeout_s: float | None = None) -> T:
        self._check()
        return fn(self.store)

    def read_local(self, fn: Callable[[Any], T]) -> tuple[int, T]:
        return 0, fn(self.store)

    def status(self) -> RaftStatus:
        role = Role.LEADER if self.leader_id == self.node_id else Role.FOLLOWER
        return RaftStatus(self.node_id, role, 3, self.leader_id, self.leader_address, 0, 0, 0, 0, 0)


@dataclass
class FakeGroup:
    nodes: dict[str, FakeNode]
    services: dict[str, GrpcService]

    @property
    def peers(self) -> dict[str, str]:
        return {node_id: f"127.0.0.1:{svc.port}" for node_id, svc in self.services.items()}

    def elect(self, node_id: str | None) -> None:
        """Makes `node_id` the leader everywhere (None: no leader known)."""
        address = self.peers[node_id] if node_id else None
        for node in self.nodes.values():
            node.leader_id, node.leader_address = node_id, address

    def stop(self, node_id: str) -> None:
        self.services[node_id].stop()


def _registrar(servicer: BooksDatabaseServicer) -> Callable[[grpc.Server], None]:
    return lambda server: pb_grpc.add_BooksDatabaseServicer_to_server(servicer, server)


@contextmanager
def fake_group(size: int = 3, request_timeout_s: float = 1.0) -> Iterator[FakeGroup]:
    nodes: dict[str, FakeNode] = {}
    services: dict[str, GrpcService] = {}
    try:
        for n in range(1, size + 1):
            node_id = f"books-{n}"
            node = nodes[node_id] = FakeNode(node_id)
            servicer = BooksDatabaseServicer(node, "pending", request_timeout_s)
            svc = GrpcService(
                node_id,
                "127.0.0.1:0",
                [_registrar(servicer)],
                ["bookstore.books_database.BooksDatabase"],
                workers_max=8,
                shutdown_grace_s=0.2,
                identity=node_id,
            )
            svc.start()
            servicer._address = f"127.0.0.1:{svc.port}"
            services[node_id] = svc
        group = FakeGroup(nodes, services)
        group.elect("books-1")
        yield group
    finally:
        for svc in services.values():
            svc.stop()
