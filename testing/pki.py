"""The test harness's certificates: one CA and every identity a test may present, made once per test process in
a temporary folder, and the trust (TLS material, replica groups) in-process servers and clients use.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from testing.fleet_env import PROCESSES
from utils.rpc.client import open_channel
from utils.rpc.core.authz import Policy, Role, Roster
from utils.rpc.trust import Trust
from utils.tls import FleetTls
from utils.tls.fleet import OPERATOR, ensure_fleet_pki

# Replica ids the tests use: the fleet's, an extra executor id, and the Raft key-value cluster's members.
EXECUTORS = frozenset({f"executor-{i}" for i in range(0, 4)})
BOOKS = frozenset({f"books-{i}" for i in range(0, 4)})
KV_NODES = frozenset({f"n{i}" for i in range(1, 8)})
# An identity no rule names: a valid certificate of the fleet that must be refused everywhere.
STRANGER = "stranger"


@functools.cache
def harness_tls_dir() -> Path:
    base = Path(tempfile.mkdtemp(prefix="bookstore-pki-"))
    atexit.register(shutil.rmtree, base, True)
    return ensure_fleet_pki(base, {*PROCESSES, *EXECUTORS, *BOOKS, *KV_NODES, STRANGER})


def harness_roster() -> Roster:
    return Roster(executors=EXECUTORS, books=BOOKS, other_groups=(KV_NODES,))


def harness_tls(identity: str = OPERATOR) -> FleetTls:
    return FleetTls(harness_tls_dir(), identity)


def harness_trust(identity: str = OPERATOR) -> Trust:
    """Health ports on any free port: test servers listen on port 0 or on ports picked for them."""
    return Trust(harness_tls(identity), harness_roster(), health_port=None)


# For tests of behaviour, not of authorization: who presents itself for a role (the first that the table allows).
_STAND_INS: dict[Role, str] = {
    Role.ORCHESTRATOR: "orchestrator",
    Role.EXECUTOR: "executor-1",
    Role.PAYMENT: "payment_service",
    Role.BOOKS: "books-1",
    Role.ORDER_QUEUE: "order_queue",
    Role.TRANSACTION_VERIFICATION: "transaction_verification",
    Role.FRAUD_DETECTION: "fraud_detection",
    Role.SUGGESTIONS: "suggestions",
    Role.OPERATOR: OPERATOR,
}


def allowed_identity(method: str) -> str:
    """An identity the fleet's table lets call `method` ('/pkg.Service/Method'), for tests that call everything."""
    allowed = Policy(harness_roster()).allowed_roles(method) or frozenset()
    for role, identity in _STAND_INS.items():
        if role in allowed:
            return identity
    raise AssertionError(f"no stand-in identity may call {method}")


class RoutedChannel(grpc.Channel):
    """A channel to one server that sends each method over mutual TLS as an identity the table allows for it."""

    def __init__(self, target: str, peer: str, tls_dir: Path | None = None, retries: bool = True) -> None:
        self.target, self.peer, self.retries = target, peer, retries
        self._tls_dir = tls_dir or harness_tls_dir()
        self._channels: dict[str, grpc.Channel] = {}

    def _channel(self, method: str | bytes) -> grpc.Channel:
        name = method.decode() if isinstance(method, bytes) else method
        identity = allowed_identity(name)
        if identity not in self._channels:
            self._channels[identity] = open_channel(
                self.target, self.peer, retries=self.retries, tls=FleetTls(self._tls_dir, identity)
            )
        return self._channels[identity]

    def unary_unary(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._channel(method).unary_unary(method, *args, **kwargs)

    def unary_stream(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._channel(method).unary_stream(method, *args, **kwargs)

    def stream_unary(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._channel(method).stream_unary(method, *args, **kwargs)

    def stream_stream(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._channel(method).stream_stream(method, *args, **kwargs)

    def subscribe(self, callback: Any, try_to_connect: bool = False) -> None:
        raise NotImplementedError("a routed channel has one channel per identity")

    def unsubscribe(self, callback: Any) -> None:
        raise NotImplementedError("a routed channel has one channel per identity")

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()
        self._channels.clear()

    def __enter__(self) -> RoutedChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def routed(tls_dir: Path | None = None) -> Callable[[str, str], grpc.Channel]:
    """A channel factory (address, peer) → RoutedChannel, for group clients (utils.rpc.leader_client): without the
    channel's own retries, as the group client's loop replaces them."""
    return lambda address, peer: RoutedChannel(address, peer, tls_dir, retries=False)
