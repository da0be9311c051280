"""Runs a gRPC service: health and reflection, interceptors, metrics, graceful stop on SIGTERM.

Every gRPC service's main() ends in `GrpcService(...).run()`; tests use start()/stop() on port 0.
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
from opentelemetry.instrumentation.grpc import server_interceptor as otel_server_interceptor

from utils.rpc.interceptors import ServerInterceptor

log = logging.getLogger(__name__)

Registrar = Callable[[grpc.Server], None]


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
    port: int = 0
    _server: grpc.Server | None = None
    _health: health.HealthServicer | None = None
    _stopped: threading.Event = field(default_factory=threading.Event)

    def start(self) -> int:
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=self.workers_max, thread_name_prefix=f"{self.name}-rpc"),
            interceptors=[otel_server_interceptor(), ServerInterceptor(self.name)],
            maximum_concurrent_rpcs=self.workers_max * 4,  # beyond this, callers get RESOURCE_EXHAUSTED at once
            # gRPC shares ports by default: a restarted replica could then serve beside a stranger on its port.
            options=[("grpc.so_reuseport", 0)],
        )
        for register in self.registrars:
            register(server)
        self._health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        reflection.enable_server_reflection([*self.service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
        self.port = server.add_insecure_port(self.listen)
        if self.port == 0:
            raise RuntimeError(f"{self.name}: cannot listen on {self.listen}")
        server.start()
        self._server = server
        self.set_serving(self.serving_at_start)
        log.info("serving", extra={"listen": self.listen, "port": self.port})
        return self.port

    def set_serving(self, serving: bool, service: str | None = None) -> None:
        """Health: NOT_SERVING while a dependency the service needs is down, and during shutdown."""
        assert self._health is not None, "start() first"
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in [service] if service else ["", *self.service_names]:
            self._health.set(name, status)

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
        self._server.stop(self.shutdown_grace_s).wait()
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
