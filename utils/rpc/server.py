"""Runs a gRPC service: mutual TLS and authorization, health and reflection, interceptors, graceful stop on SIGTERM.

The API port takes only fleet certificates; a plaintext health-only port serves probes (docs/trust.md). Every
gRPC service's main() ends in `GrpcService(...).run()`; tests use start()/stop() on port 0.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from types import FrameType

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from utils.rpc.authz import AuthorizationInterceptor
from utils.rpc.interceptors import ServerInterceptor
from utils.rpc.trust import HEALTH_PORT_OFFSET, Trust, installed_trust
from utils.telemetry import grpc_server_interceptors

log = logging.getLogger(__name__)

Registrar = Callable[[grpc.Server], None]
# What one message of a service API may weigh, each way: its largest messages (an order, a catalog listing, a
# queue record) are a few KiB, so this leaves room and still refuses a flood of megabyte messages at once.
MESSAGE_BYTES_MAX = 64 * 1024
# The health-only port has one tiny request; a probe never needs more.
HEALTH_MESSAGE_BYTES_MAX = 1024
READY = "ready"  # the health service name a readiness probe asks for (liveness asks for "")


@dataclass
class GrpcService:
    """One process's gRPC server. `service_names` are the full names reported by health and reflection."""

    name: str
    listen: str  # host:port; port 0 picks a free port
    registrars: Sequence[Registrar]
    service_names: Sequence[str]
    workers_max: int = 32
    shutdown_grace_s: float = 5.0
    on_stop: list[Callable[[], None]] = field(
        default_factory=list
    )  # run before the server stops (e.g. hand off leadership)
    serving_at_start: bool = True  # False: NOT_SERVING until the service says it is ready (e.g. knows a leader)
    message_bytes_max: int = MESSAGE_BYTES_MAX  # grpc.max_receive/send_message_length of the API port
    identity: str | None = None  # the certificate it serves with; None = the process's own (TLS_IDENTITY)
    trust: Trust | None = None  # None = the one main() installed
    health_port_wanted: int | None = None  # None = the trust's HEALTH_PORT rule
    port: int = 0
    health_port: int = 0
    _server: grpc.Server | None = None
    _health_server: grpc.Server | None = None
    _health: health.HealthServicer | None = None
    _probe_health: health.HealthServicer | None = None
    _stopped: threading.Event = field(default_factory=threading.Event)

    def start(self) -> int:
        trust = self.trust or installed_trust()
        tls = trust.tls.as_identity(self.identity) if self.identity else trust.tls
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=self.workers_max, thread_name_prefix=f"{self.name}-rpc"),
            interceptors=[
                *grpc_server_interceptors(),  # a span per call only when spans are exported
                ServerInterceptor(self.name),
                AuthorizationInterceptor(trust.policy, tls.identity, self.name),
            ],
            maximum_concurrent_rpcs=self.workers_max * 4,  # beyond this, callers get RESOURCE_EXHAUSTED at once
            options=[
                # gRPC shares ports by default: a restarted replica could then serve beside a stranger on its port.
                ("grpc.so_reuseport", 0),
                ("grpc.max_receive_message_length", self.message_bytes_max),
                ("grpc.max_send_message_length", self.message_bytes_max),
            ],
        )
        for register in self.registrars:
            register(server)
        self._health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        reflection.enable_server_reflection([*self.service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
        self.port = server.add_secure_port(self.listen, tls.server_credentials())
        if self.port == 0:
            raise RuntimeError(f"{self.name}: cannot listen on {self.listen}")
        self._start_health_port(trust)
        server.start()
        self._server = server
        self.set_serving(self.serving_at_start)
        log.info("serving", extra={"listen": self.listen, "port": self.port, "health_port": self.health_port})
        return self.port

    def _start_health_port(self, trust: Trust) -> None:
        """Plaintext, grpc.health.v1 only: "" is SERVING while the process serves, READY while it can do its job."""
        wanted = self.health_port_wanted if self.health_port_wanted is not None else trust.health_port
        if wanted == 0 and self.port != 0 and self.listen.rpartition(":")[2] != "0":
            wanted = self.port + HEALTH_PORT_OFFSET
        host = self.listen.rpartition(":")[0]
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix=f"{self.name}-health"),
            maximum_concurrent_rpcs=16,
            options=[
                ("grpc.so_reuseport", 0),
                ("grpc.max_receive_message_length", HEALTH_MESSAGE_BYTES_MAX),
                ("grpc.max_send_message_length", HEALTH_MESSAGE_BYTES_MAX),
            ],
        )
        self._probe_health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self._probe_health, server)
        self.health_port = server.add_insecure_port(f"{host}:{wanted or 0}")
        if self.health_port == 0:
            raise RuntimeError(f"{self.name}: cannot listen for health checks on {host}:{wanted}")
        self._probe_health.set("", health_pb2.HealthCheckResponse.SERVING)
        self._probe_health.set(READY, health_pb2.HealthCheckResponse.NOT_SERVING)
        server.start()
        self._health_server = server

    def set_serving(self, serving: bool, service: str | None = None) -> None:
        """Health: NOT_SERVING while a dependency the service needs is down, and during shutdown."""
        assert self._health is not None, "start() first"
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in [service] if service else ["", *self.service_names]:
            self._health.set(name, status)
        if not service and self._probe_health is not None:
            self._probe_health.set(READY, status)

    def stop(self) -> None:
        if self._stopped.is_set() or self._server is None:
            return
        self._stopped.set()
        self.set_serving(False)
        for hook in self.on_stop:
            try:
                hook()
            except Exception:  # a failing hook must not keep the server from stopping
                log.exception("stop hook failed")
        if self._probe_health is not None:
            self._probe_health.enter_graceful_shutdown()  # liveness "" too: the process is going
        self._server.stop(self.shutdown_grace_s).wait()
        if self._health_server is not None:
            self._health_server.stop(0).wait()
        log.info("stopped")

    def run(self) -> None:
        """Serves until SIGTERM or SIGINT, then stops gracefully."""
        self.start()

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("signal received, stopping", extra={"signal": signal.Signals(signum).name})
            threading.Thread(target=self.stop, name="graceful-stop").start()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self._stopped.wait()
        assert self._server is not None
        self._server.wait_for_termination()
