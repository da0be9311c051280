"""One checkout through the real fleet (processes on free loopback ports): HTTP → the vector-clock ordered
validation flow across TV, FD and S → tokenization → the durable queue, and with the whole fleet (both Raft
groups) on to COMMITTED. Checks the final vector clock and that the checkout's correlation id reaches every log.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from testing.local_fleet import RunningFleet, running_fleet
from testing.orders import seed_order

pytestmark = pytest.mark.fleet

VALIDATION = ("transaction_verification", "fraud_detection", "suggestions")
# The gateway's dependencies; the books database answers /books and is part of /readyz.
GATEWAY_PATH = {*VALIDATION, "order_queue", "payment_service", "books_database", "orchestrator"}
HTTP_TIMEOUT_S = 10.0


def wait_for(condition: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


def log_lines(rf: RunningFleet, process: str) -> list[dict[str, Any]]:
    path = rf.fleet.log_path(process)
    if not path.exists():
        return []
    lines = []
    for raw in path.read_text().splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue  # a line cut mid-write
    return lines


def mentions(rf: RunningFleet, process: str, correlation_id: str) -> bool:
    return any(line.get("correlation_id") == correlation_id for line in log_lines(rf, process))


def checkout(rf: RunningFleet, body: dict[str, Any], headers: dict[str, str] | None = None) -> requests.Response:
    # As the course frontend sends it: JSON without a Content-Type header.
    return requests.post(f"{rf.api}/checkout", data=json.dumps(body), headers=headers or {}, timeout=HTTP_TIMEOUT_S)


@pytest.fixture(scope="module")
def gateway_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningFleet]:
    with running_fleet(tmp_path_factory.mktemp("gateway-fleet"), only=GATEWAY_PATH, healthy_timeout_s=90) as rf:
        yield rf


def test_an_approved_checkout_carries_the_final_clock_and_its_correlation_id_through_every_service(
    gateway_fleet: RunningFleet,
) -> None:
    rf = gateway_fleet
    correlation_id = f"e2e-{uuid.uuid4().hex[:12]}"
    response = checkout(rf, seed_order(), {"X-Correlation-ID": correlation_id})
    assert response.status_code == 200, response.text
    assert response.headers["X-Correlation-ID"] == correlation_id
    body = response.json()
    assert body["status"] == "Order Approved", body
    assert len(body["suggestedBooks"]) == 3
    assert "book_105_clean_architecture" not in {b["bookId"] for b in body["suggestedBooks"]}
    clock = body["finalVectorClock"]
    # Events a, b, c ran on TV, d and e on FD, f on S (docs/design.md §3): each clock counts at least those.
    assert clock["transaction_verification"] >= 3 and clock["fraud_detection"] >= 2 and clock["suggestions"] >= 1

    order = requests.get(f"{rf.api}/orders/{body['orderId']}", timeout=HTTP_TIMEOUT_S).json()
    assert order["state"] in ("QUEUED", "EXECUTING", "COMMITTED")
    assert order["items"] == [{"bookId": "book_105_clean_architecture", "title": "Clean Architecture", "quantity": 1}]

    # The clear broadcast is asynchronous: wait until every hop has logged under the checkout's id.
    hops = sorted(GATEWAY_PATH - {"books_database"})  # a checkout does not touch the database
    wait_for(
        lambda: all(mentions(rf, p, correlation_id) for p in hops),
        10.0,
        f"correlation id {correlation_id} in the logs of {hops}",
    )
    for process in hops:  # the card number never reaches a log
        assert "4111111111111111" not in rf.fleet.log_path(process).read_text()


def test_a_bad_card_is_rejected_with_its_reason_and_shown_as_rejected(gateway_fleet: RunningFleet) -> None:
    rf = gateway_fleet
    bad = seed_order(
        creditCard={"number": "4111111111111112", "expirationDate": "12/2030", "cvv": "123"},
        user={"name": "Bob Badcard", "contact": "bob@example.com"},
    )
    body = checkout(rf, bad).json()
    assert body["status"] == "Order Rejected" and body["suggestedBooks"] == []
    assert any("card" in reason.lower() for reason in body["reasons"]), body
    order = requests.get(f"{rf.api}/orders/{body['orderId']}", timeout=HTTP_TIMEOUT_S).json()
    assert order["state"] == "REJECTED" and order["reason"]


def test_a_retry_with_the_same_idempotency_key_places_one_order(gateway_fleet: RunningFleet) -> None:
    rf = gateway_fleet
    order = seed_order(user={"name": "Ida Empotent", "contact": "ida@example.com"})
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    first, again = checkout(rf, order, headers), checkout(rf, order, headers)
    assert first.json() == again.json() and again.headers.get("Idempotent-Replayed") == "true"


def test_bad_input_is_a_problem_and_readiness_names_every_dependency(gateway_fleet: RunningFleet) -> None:
    rf = gateway_fleet
    response = requests.post(f"{rf.api}/checkout", data=b"{oops", timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 400 and response.headers["Content-Type"] == "application/problem+json"
    ready = requests.get(f"{rf.api}/readyz", timeout=HTTP_TIMEOUT_S)
    assert ready.status_code == 200, ready.text
    assert set(VALIDATION) | {"order_queue"} <= set(ready.json()["dependencies"])
    books = requests.get(f"{rf.api}/books", timeout=HTTP_TIMEOUT_S).json()["books"]
    assert len(books) == 40
    assert all(isinstance(book["stock"], int) for book in books)  # stock comes from the database's primary


def test_with_the_whole_fleet_the_checkout_is_committed(tmp_path: Path) -> None:
    with running_fleet(tmp_path, healthy_timeout_s=90) as rf:
        correlation_id = f"e2e-{uuid.uuid4().hex[:12]}"
        body = checkout(rf, seed_order(), {"X-Correlation-ID": correlation_id}).json()
        assert body["status"] == "Order Approved", body

        def final_state() -> dict[str, Any] | None:
            order = requests.get(f"{rf.api}/orders/{body['orderId']}", timeout=HTTP_TIMEOUT_S).json()
            return order if order["state"] in ("COMMITTED", "ABORTED") else None

        order = wait_for(final_state, 30.0, "the order to reach a final state")
        assert order["state"] == "COMMITTED", order
        assert order["total"] is not None
        cluster = requests.get(f"{rf.api}/cluster", timeout=HTTP_TIMEOUT_S).json()
        for group in ("order_executor", "books_database"):
            assert cluster["groups"][group]["leaderId"] is not None, cluster
