"""Serves POST /v1/chat/completions with scripted behaviour: a JSON answer, slowness, 500, 429, bad JSON.

Tests start it on a free loopback port and point OPENAI_BASE_URL at it; it records every request.
"""

from __future__ import annotations

import enum
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Mode(enum.Enum):
    ANSWER = "answer"  # 200 with `answer` as the message content (JSON-encoded)
    SLOW = "slow"  # like ANSWER, after `delay_s`
    SERVER_ERROR = "500"
    RATE_LIMITED = "429"
    INVALID_JSON = "invalid"  # 200, but the content is not JSON


@dataclass
class Script:
    mode: Mode = Mode.ANSWER
    answer: dict[str, Any] = field(default_factory=dict)
    delay_s: float = 0.0


class FakeOpenAI:
    def __init__(self) -> None:
        self.script = Script()
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=lambda: self._server.serve_forever(poll_interval=0.05), name="fake-openai", daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def prompts(self) -> list[str]:
        """Every message content the server received, for privacy checks."""
        with self._lock:
            return [m.get("content", "") for r in self.requests for m in r.get("messages", [])]

    def _record(self, body: dict[str, Any]) -> Script:
        with self._lock:
            self.requests.append(body)
            return self.script

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

            def do_POST(self) -> None:
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, {"error": {"message": "not found"}})
                    return
                length = int(self.headers.get("Content-Length", "0"))
                script = fake._record(json.loads(self.rfile.read(length) or b"{}"))
                if script.mode is Mode.SERVER_ERROR:
                    self._send(500, {"error": {"message": "scripted failure", "type": "server_error"}})
                    return
                if script.mode is Mode.RATE_LIMITED:
                    self._send(429, {"error": {"message": "slow down", "type": "rate_limit"}}, {"retry-after": "0"})
                    return
                if script.mode is Mode.SLOW:
                    time.sleep(script.delay_s)
                content = "{not json" if script.mode is Mode.INVALID_JSON else json.dumps(script.answer)
                self._send(
                    200,
                    {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": "fake-model",
                        "choices": [
                            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    },
                )

            def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its timeout): exactly what a slow-server test wants

        return Handler


@contextmanager
def fake_openai() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI()
    server.start()
    try:
        yield server
    finally:
        server.stop()
