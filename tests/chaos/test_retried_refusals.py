"""One count of retried refusals for both clients (testing/retried_refusals.py): the chaos tool's load and the
container tests' checkouts, against one scripted gateway, retry the same answers under one key, keep the same
labels for them, and neither retries a server error; the chaos report counts them."""

from __future__ import annotations

import dataclasses
import json
import random
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from chaos.load import Clock, send_checkout
from chaos.report import build_report, render_text
from chaos.scenario import Options
from testing.evidence import Answer
from testing.orders import OrderKind, PlannedOrder
from testing.retried_refusals import RETRIED_STATUSES, count_refusals, refusal_label
from tests.chaos.builders import clean_run
from tests.docker.orders import place

pytestmark = pytest.mark.timeout(60)
SHED = (429, {"error": {"code": "TOO_MANY_REQUESTS"}})
DOWN = (503, {"error": {"code": "DEPENDENCY_UNAVAILABLE"}})
APPROVED = (200, {"orderId": "o-1", "status": "Order Approved", "reasons": []})
BROKEN = (500, {"error": {"code": "INTERNAL"}})


class Script:
    """The answers the gateway gives, in turn, and the Idempotency-Keys it was sent."""

    def __init__(self, answers: list[tuple[int, dict[str, Any]]]) -> None:
        self.answers = answers
        self.keys: list[str] = []
        self.lock = threading.Lock()

    def next(self, key: str) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.keys.append(key)
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@pytest.fixture
def gateway() -> Iterator[tuple[str, list[Script]]]:
    scripts: list[Script] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass  # a test server: nothing to keep

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, body = scripts[0].next(self.headers.get("Idempotency-Key", ""))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", scripts
    finally:
        server.shutdown()
        server.server_close()


def _chaos(api: str) -> Any:
    planned = PlannedOrder(OrderKind.VALID, (("book_1", 1),), {"items": []})
    return send_checkout(api, planned, 1, Clock(), timeout_s=5.0)


def test_both_clients_retry_the_same_refusals_and_label_them_alike(gateway: tuple[str, list[Script]]) -> None:
    api, scripts = gateway
    scripts[:] = [Script([SHED, DOWN, APPROVED])]
    record = _chaos(api)
    assert record.answer is Answer.APPROVED and record.attempts == 3
    assert len(set(scripts[0].keys)) == 1  # one key for every attempt
    scripts[:] = [Script([SHED, DOWN, APPROVED])]
    placed = place(api, {"book_1": 1}, random.Random(1))
    assert placed.approved and placed.attempts == 3 and len(set(scripts[0].keys)) == 1
    assert list(record.refused) == placed.refused == ["429 TOO_MANY_REQUESTS", "503 DEPENDENCY_UNAVAILABLE"]
    assert count_refusals([record.refused, placed.refused]) == {
        "429 TOO_MANY_REQUESTS": 2,
        "503 DEPENDENCY_UNAVAILABLE": 2,
    }


def test_a_server_error_is_not_retried_by_either(gateway: tuple[str, list[Script]]) -> None:
    api, scripts = gateway
    scripts[:] = [Script([BROKEN, APPROVED])]
    record = _chaos(api)
    assert record.answer is Answer.REFUSED and record.attempts == 1 and record.refused == ()
    scripts[:] = [Script([BROKEN, APPROVED])]
    with pytest.raises(AssertionError, match="answered 500"):
        place(api, {"book_1": 1}, random.Random(1))
    assert len(scripts[0].keys) == 1


def test_a_label_is_the_status_and_the_problem_code() -> None:
    assert refusal_label(503, DOWN[1]) == "503 DEPENDENCY_UNAVAILABLE"
    assert refusal_label(502, None) == "502" and refusal_label(409, {"error": "x"}) == "409"
    assert 500 not in RETRIED_STATUSES and {409, 429, 503} <= RETRIED_STATUSES


def test_the_report_counts_every_checkouts_retried_refusals() -> None:
    run, evidence = clean_run()
    down = ("503 DEPENDENCY_UNAVAILABLE",)
    checkouts = (
        dataclasses.replace(run.checkouts[0], refused=down * 2),
        dataclasses.replace(run.checkouts[1], refused=("429 TOO_MANY_REQUESTS", *down)),
        *run.checkouts[2:],
    )
    report = build_report(Options(seed=4), "local", dataclasses.replace(run, checkouts=checkouts), evidence, [], "-")
    assert report.refused_retried == {"503 DEPENDENCY_UNAVAILABLE": 3, "429 TOO_MANY_REQUESTS": 1}
    assert "503 DEPENDENCY_UNAVAILABLE: 3" in render_text(report)
