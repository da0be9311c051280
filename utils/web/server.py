"""The HTTP server of the gateway and the storefront: Tornado's event loop reads each request (line, headers, body)
under deadlines and size bounds, and only then runs the WSGI app (Flask) on a bounded thread pool.

Why this design (docs/gateway.md): a half-sent request costs a socket and a small buffer on the event loop, never a
thread, so thousands of them do not starve the app's threads; the loop is epoll-based, so idle connections cost
nothing per event. Oversized requests (413/414/431, at their headers) and requests beyond the admission bound (503,
once read) are answered here, as problem+json, before a thread or the app sees them.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import signal
import socket
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.client import responses
from typing import Any

from tornado import httputil
from tornado.http1connection import HTTP1Connection, HTTP1ServerConnection
from tornado.httpserver import HTTPServer
from tornado.iostream import IOStream
from tornado.netutil import bind_sockets
from tornado.wsgi import WSGIContainer

from utils.web.core.admission import AdmissionBound
from utils.web.problem import PROBLEM_MEDIA_TYPE, problem_bytes

log = logging.getLogger("utils.web.server")
WsgiApp = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class HttpLimits:
    header_timeout_s: float = 10.0  # request line + headers, from the connection's first byte or its last answer
    body_timeout_s: float = 10.0  # the whole body, once the headers are in
    request_line_bytes_max: int = 8 * 1024  # a longer target → 414
    header_bytes_max: int = 16 * 1024  # more header bytes → 431
    body_bytes_max: int = 64 * 1024  # a larger body → 413
    connections_max: int = 8192  # open connections; one more is closed at once (and counted)
    threads: int = 16  # the WSGI app's threads

    def __post_init__(self) -> None:
        if self.header_timeout_s <= 0 or self.body_timeout_s <= 0:
            raise ValueError("HTTP timeouts must be positive")
        if min(self.request_line_bytes_max, self.header_bytes_max, self.body_bytes_max) < 256:
            raise ValueError("HTTP size bounds must be at least 256 bytes")
        if self.connections_max < 1 or self.threads < 1:
            raise ValueError("connections_max and threads must be at least 1")

    @property
    def hard_header_bytes(self) -> int:
        # Tornado's own bound (it closes without an answer beyond it): far enough above ours that we answer 431.
        return 4 * self.header_bytes_max

    @property
    def hard_body_bytes(self) -> int:
        return 2 * self.body_bytes_max


@dataclass(frozen=True, slots=True)
class Shedding:
    """Requests to `method path` beyond `admission.limit` in flight are answered 503 as soon as they are read,
    before a thread or the app sees them."""

    method: str
    path: str
    admission: AdmissionBound
    retry_after_s: int = 1
    on_refused: Callable[[], None] = lambda: None
    detail: str = "too many requests in progress; nothing was done, retry after the indicated time"


@dataclass(slots=True)
class EdgeCounters:
    """What the server refused by itself (read by the owner's metrics at scrape time)."""

    connections_refused: int = 0
    too_large: int = 0  # 413, 414 and 431 answered by the server


class _Server(HTTPServer):
    """HTTPServer with a connection cap and our own per-request delegate (public Tornado hooks only)."""

    def initialize_edge(
        self,
        container: WSGIContainer,
        limits: HttpLimits,
        shedding: Shedding | None,
        counters: EdgeCounters,
    ) -> None:
        self.container = container
        self.limits = limits
        self.shedding = shedding
        self.counters = counters
        self.open_connections = 0
        self.requests_running = 0

    def handle_stream(self, stream: IOStream, address: tuple[Any, ...]) -> None:
        if self.open_connections >= self.limits.connections_max:
            self.counters.connections_refused += 1
            stream.close()
            return
        self.open_connections += 1
        super().handle_stream(stream, address)

    def on_close(self, server_conn: object) -> None:
        self.open_connections -= 1
        super().on_close(server_conn)

    def start_request(self, server_conn: object, request_conn: httputil.HTTPConnection) -> httputil.HTTPMessageDelegate:
        assert isinstance(server_conn, HTTP1ServerConnection) and isinstance(request_conn, HTTP1Connection)
        return _Request(self, request_conn)


class _Request(httputil.HTTPMessageDelegate):
    def __init__(self, server: _Server, connection: HTTP1Connection) -> None:
        self.server = server
        self.connection = connection
        self.request: httputil.HTTPServerRequest | None = None
        self.chunks = bytearray()
        self.answered = False
        self.holds_admission = False
        self.dispatched = False  # from here on, the app's run releases the admission, not a closed connection
        self.sending: asyncio.Future[None] | None = None  # the task answering this request (kept from the GC)

    def headers_received(
        self, start_line: httputil.RequestStartLine | httputil.ResponseStartLine, headers: httputil.HTTPHeaders
    ) -> Awaitable[None] | None:
        assert isinstance(start_line, httputil.RequestStartLine)
        limits = self.server.limits
        if len(start_line.path) > limits.request_line_bytes_max:
            return self._too_large(
                414,
                "URI_TOO_LONG",
                "URI Too Long",
                f"the request target is longer than {limits.request_line_bytes_max} bytes",
            )
        header_bytes = sum(len(name) + len(value) + 4 for name, value in headers.get_all())
        if header_bytes > limits.header_bytes_max:
            return self._too_large(
                431,
                "HEADERS_TOO_LARGE",
                "Request Header Fields Too Large",
                f"the request headers are larger than {limits.header_bytes_max} bytes",
            )
        length = headers.get("Content-Length", "")
        if length.isdigit() and int(length) > limits.body_bytes_max:
            return self._too_large(
                413,
                "PAYLOAD_TOO_LARGE",
                "Content Too Large",
                f"the request body is larger than {limits.body_bytes_max} bytes",
            )
        self.request = httputil.HTTPServerRequest(connection=self.connection, start_line=start_line, headers=headers)
        return None

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        if self.answered:
            return None
        self.chunks += chunk
        limits = self.server.limits
        if len(self.chunks) > limits.body_bytes_max:  # a chunked body has no Content-Length to check up front
            self._release()
            return self._too_large(
                413,
                "PAYLOAD_TOO_LARGE",
                "Content Too Large",
                f"the request body is larger than {limits.body_bytes_max} bytes",
            )
        return None

    def finish(self) -> None:
        if self.answered:
            return
        assert self.request is not None
        # Admission is decided once the body is in (a slow body must not hold a slot), before any thread or work.
        shedding = self.server.shedding
        if shedding is not None and self.request.method == shedding.method and self.request.path == shedding.path:
            if not shedding.admission.try_enter():
                shedding.on_refused()
                retry = {"Retry-After": str(shedding.retry_after_s)}
                self.sending = asyncio.ensure_future(
                    self._answer(503, "OVERLOADED", "Service Unavailable", shedding.detail, retry)
                )
                return
            self.holds_admission = True
        self.request.body = bytes(self.chunks)
        self.chunks = bytearray()
        self.dispatched = True
        self.sending = asyncio.ensure_future(self._run(self.request))

    def on_connection_close(self) -> None:
        if not self.dispatched:
            self._release()

    async def _run(self, request: httputil.HTTPServerRequest) -> None:
        self.server.requests_running += 1
        try:
            await self.server.container.handle_request(request)
        except Exception:  # the app answers its own errors; this is the server failing to run it at all
            log.exception("the WSGI app could not be run")
            self.connection.close()
        finally:
            self.server.requests_running -= 1
            self._release()

    def _release(self) -> None:
        shedding = self.server.shedding
        if self.holds_admission and shedding is not None:
            self.holds_admission = False
            shedding.admission.leave()

    def _too_large(self, status: int, code: str, title: str, detail: str) -> Awaitable[None]:
        self.server.counters.too_large += 1
        return self._answer(status, code, title, detail)

    def _answer(
        self, status: int, code: str, title: str, detail: str, extra: dict[str, str] | None = None
    ) -> Awaitable[None]:
        """Answer now and close the connection: the rest of the request (its body) is never read."""
        self.answered = True
        body = problem_bytes(status, code, title, detail)
        headers = httputil.HTTPHeaders(
            {"Content-Type": PROBLEM_MEDIA_TYPE, "Content-Length": str(len(body)), "Connection": "close"}
        )
        for name, value in (extra or {}).items():
            headers[name] = value

        async def send() -> None:
            try:
                await self.connection.write_headers(
                    httputil.ResponseStartLine("HTTP/1.1", status, responses.get(status, title)),
                    headers,
                    body,
                )
                self.connection.finish()
            finally:
                self.connection.close()

        return send()


class WsgiServer:
    """Serves one WSGI app on host:port until stop(). run() blocks (call it from the thread that owns the server);
    stop() may be called from any thread or a signal handler."""

    def __init__(
        self,
        app: WsgiApp,
        host: str,
        port: int,
        limits: HttpLimits = HttpLimits(),
        *,
        shedding: Shedding | None = None,
        name: str = "http",
        stop_grace_s: float = 5.0,
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.limits = limits
        self.shedding = shedding
        self.name = name
        self.stop_grace_s = stop_grace_s
        self.counters = EdgeCounters()
        self.bound = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._sockets: list[socket.socket] = []

    def bind(self) -> int:
        """Binds now (so a busy port fails before run()); returns the port (useful with port 0)."""
        raise_open_files_limit(self.limits.connections_max + 256)
        self._sockets = bind_sockets(self.port, self.host, family=socket.AF_INET, backlog=1024)
        self.port = int(self._sockets[0].getsockname()[1])
        return self.port

    def run(self, stop_signals: tuple[signal.Signals, ...] = ()) -> None:
        if not self._sockets:
            self.bind()
        asyncio.run(self._serve(stop_signals))

    def stop(self) -> None:
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stopping.set)

    async def _serve(self, stop_signals: tuple[signal.Signals, ...]) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        quiet_access_log()
        for signum in stop_signals:
            self._loop.add_signal_handler(signum, self._on_signal, signum)
        executor = ThreadPoolExecutor(max_workers=self.limits.threads, thread_name_prefix=f"{self.name}-app")
        container = WSGIContainer(self.app, executor=executor)
        server = _Server(
            container,
            idle_connection_timeout=self.limits.header_timeout_s,  # Tornado's header deadline and keep-alive idle
            body_timeout=self.limits.body_timeout_s,
            max_header_size=self.limits.hard_header_bytes,
            max_body_size=self.limits.hard_body_bytes,
            max_buffer_size=self.limits.hard_header_bytes + self.limits.hard_body_bytes,
        )
        server.initialize_edge(container, self.limits, self.shedding, self.counters)
        server.add_sockets(self._sockets)
        self.bound.set()
        try:
            await self._stopping.wait()
        finally:
            server.stop()  # no new connections; requests in progress finish within the grace
            deadline = self._loop.time() + self.stop_grace_s
            while server.requests_running and self._loop.time() < deadline:
                await asyncio.sleep(0.02)
            try:
                await asyncio.wait_for(server.close_all_connections(), timeout=max(0.1, deadline - self._loop.time()))
            except TimeoutError:
                log.warning("connections still open at the end of the stop grace", extra={"server": self.name})
            executor.shutdown(wait=False, cancel_futures=True)

    def _on_signal(self, signum: signal.Signals) -> None:
        log.info("signal received, stopping", extra={"signal": signum.name, "server": self.name})
        assert self._stopping is not None
        self._stopping.set()


def raise_open_files_limit(wanted: int) -> None:
    """Each connection is a file descriptor: lift the soft limit toward `wanted` (never above the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def quiet_access_log() -> None:
    """The apps log each request themselves (with the correlation id); Tornado's access log would repeat it."""
    logging.getLogger("tornado.access").setLevel(logging.ERROR)
