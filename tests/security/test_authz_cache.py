"""The authorization verdicts kept per method and identity (utils/rpc/authz.py, issue 14) cannot be abused, on a
real mTLS server: a refused identity is refused on every call and never reaches the handler, a verdict allowed on
one method opens no other, and the cache stays bounded however many identities or method names callers bring.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import grpc
import pytest

from testing.pki import harness_roster
from utils.rpc.authz import _VERDICTS_PER_METHOD_MAX, AuthorizationInterceptor, _MethodGuard
from utils.rpc.core.authz import RULES, Policy, Role, Roster, Verdict
from utils.rpc.interceptors import ServerInterceptor
from utils.tls import FleetTls, peer_identity
from utils.tls.fleet import ensure_fleet_pki

SERVICE = "test.Guarded"
SERVER = "suggestions"
# Echo is the orchestrator's, Pay the payment service's; Unlisted has a handler and no row (deny by default).
ECHO, PAY, UNLISTED = (f"/{SERVICE}/{name}" for name in ("Echo", "Pay", "Unlisted"))
POLICY = Policy(harness_roster(), {**RULES, ECHO: frozenset({Role.ORCHESTRATOR}), PAY: frozenset({Role.PAYMENT})})
CROWD = [f"caller-{i:02d}" for i in range(_VERDICTS_PER_METHOD_MAX + 8)]  # valid certificates no rule names


@dataclass
class Served:
    """Who each method's handler actually ran for."""

    calls: dict[str, list[str | None]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class GuardedServer:
    port: int
    tls_dir: Path
    authz: AuthorizationInterceptor
    served: Served

    def call(self, identity: str, method: str) -> grpc.StatusCode:
        channel = FleetTls(self.tls_dir, identity).secure_channel(f"127.0.0.1:{self.port}", SERVER)
        try:
            channel.unary_unary(method, request_serializer=None, response_deserializer=None)(b"", timeout=5)
            return grpc.StatusCode.OK
        except grpc.RpcError as error:
            code: grpc.StatusCode = error.code()
            return code
        finally:
            channel.close()

    def ran_for(self, method: str) -> list[str | None]:
        with self.served.lock:
            return list(self.served.calls.get(method, []))

    def kept_verdicts(self, method: str) -> int:
        """How many identities the method's guard keeps a verdict for (read from the guard inside its handler)."""
        handler = self.authz._handlers[method]
        guards = [
            cell.cell_contents.__self__
            for cell in handler.unary_unary.__closure__ or ()
            if isinstance(getattr(cell.cell_contents, "__self__", None), _MethodGuard)
        ]
        assert len(guards) == 1, "the guarded handler holds its method's guard"
        return len(guards[0].verdicts)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GuardedServer]:
    tls_dir = ensure_fleet_pki(
        tmp_path_factory.mktemp("authz-cache"), [SERVER, "orchestrator", "payment_service", *CROWD]
    )
    served = Served()

    def handler_for(method: str) -> grpc.RpcMethodHandler[bytes, bytes]:
        def run(request: bytes, context: grpc.ServicerContext) -> bytes:
            with served.lock:
                served.calls.setdefault(method, []).append(peer_identity(context))
            return b"ran"

        return grpc.unary_unary_rpc_method_handler(run, request_deserializer=None, response_serializer=None)

    handlers = {name.rpartition("/")[2]: handler_for(name) for name in (ECHO, PAY, UNLISTED)}
    authz = AuthorizationInterceptor(POLICY, SERVER, "guarded")
    # The stack GrpcService builds (utils/rpc/server.py): the call interceptor outside, authorization inside.
    grpc_server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4), interceptors=[ServerInterceptor("guarded"), authz]
    )
    grpc_server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, handlers)])
    port = grpc_server.add_secure_port("127.0.0.1:0", FleetTls(tls_dir, SERVER).server_credentials())
    grpc_server.start()
    yield GuardedServer(port, tls_dir, authz, served)
    grpc_server.stop(grace=None)


def test_a_refused_identity_is_refused_on_every_call_and_never_reaches_the_handler(server: GuardedServer) -> None:
    codes = [server.call("payment_service", ECHO) for _ in range(5)]  # the first decides, the rest meet it kept
    assert codes == [grpc.StatusCode.PERMISSION_DENIED] * 5
    assert "payment_service" not in server.ran_for(ECHO)
    # A method with a handler and no row stays refused even to the identity allowed elsewhere on the server.
    assert [server.call("orchestrator", UNLISTED) for _ in range(3)] == [grpc.StatusCode.PERMISSION_DENIED] * 3
    assert server.ran_for(UNLISTED) == []


def test_a_verdict_allowed_on_one_method_opens_no_other(server: GuardedServer) -> None:
    for _ in range(3):  # alternating, so each method's guard meets the other's allowed caller with a kept verdict
        assert server.call("orchestrator", ECHO) is grpc.StatusCode.OK
        assert server.call("payment_service", PAY) is grpc.StatusCode.OK
        assert server.call("orchestrator", PAY) is grpc.StatusCode.PERMISSION_DENIED
        assert server.call("payment_service", ECHO) is grpc.StatusCode.PERMISSION_DENIED
    assert set(server.ran_for(ECHO)) == {"orchestrator"}
    assert set(server.ran_for(PAY)) == {"payment_service"}


def test_the_cache_is_bounded_and_verdicts_past_the_bound_are_still_decided(server: GuardedServer) -> None:
    for identity in CROWD:  # more identities than a method keeps verdicts for
        assert server.call(identity, PAY) is grpc.StatusCode.PERMISSION_DENIED, identity
    assert server.kept_verdicts(PAY) == _VERDICTS_PER_METHOD_MAX
    # Past the bound the table still answers: the crowd stays refused, the allowed caller still allowed.
    assert server.call(CROWD[-1], PAY) is grpc.StatusCode.PERMISSION_DENIED
    assert server.call("payment_service", PAY) is grpc.StatusCode.OK
    assert set(server.ran_for(PAY)) == {"payment_service"}
    # Names the server has no handler for are UNIMPLEMENTED and never kept: the handlers are the server's methods.
    for n in range(20):
        assert server.call("orchestrator", f"/{SERVICE}/Nope{n}") is grpc.StatusCode.UNIMPLEMENTED
    assert set(server.authz._handlers) <= {ECHO, PAY, UNLISTED}


class _SlowToCount(dict[str | None, Verdict]):
    """A verdict cache whose size takes a while to read: it widens the window between a miss's size check and its
    insert, where threads that are not serialised all see room and together overrun the bound."""

    def __len__(self) -> int:
        size = super().__len__()
        time.sleep(0.002)  # the size read, not yet acted on
        return size


@dataclass(frozen=True)
class _CallerContext:
    """The part of a servicer context the guard reads: the caller's verified identity."""

    identity: str

    def peer_identities(self) -> list[bytes]:
        return [self.identity.encode("ascii")]


def test_many_threads_missing_at_once_never_keep_more_verdicts_than_the_bound() -> None:
    executors = [f"executor-{i:03d}" for i in range(_VERDICTS_PER_METHOD_MAX * 3)]  # each allowed, each distinct
    policy = Policy(Roster(executors=frozenset(executors), books=frozenset()))
    guard = _MethodGuard(policy, "order_queue", "order_queue", "/bookstore.order_queue.OrderQueue/LeaseBatch")
    guard.verdicts = _SlowToCount()
    start = threading.Barrier(len(executors))

    def call(identity: str) -> None:
        start.wait(timeout=10)
        guard.check(cast(grpc.ServicerContext, _CallerContext(identity)))  # allowed: returns, never aborts

    threads = [threading.Thread(target=call, args=(identity,)) for identity in executors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    kept = dict.__len__(guard.verdicts)
    assert kept == _VERDICTS_PER_METHOD_MAX, f"{kept} verdicts kept for a bound of {_VERDICTS_PER_METHOD_MAX}"
    # Past the bound each caller is still decided: a kept or an unkept identity alike is let through.
    guard.check(cast(grpc.ServicerContext, _CallerContext(executors[-1])))
