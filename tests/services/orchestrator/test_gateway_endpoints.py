"""The other routes of docs/design.md §7: order status, books and stock, cluster, health, readiness, metrics, CORS,
and the error handlers (404, 405, unexpected errors) — all answering problem+json, never a stack trace.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from orchestrator.checkout import ValidationOutcome
from testing.orders import seed_order
from tests.services.orchestrator.conftest import FRONTEND, Gateway, build_gateway
from utils.order.order import Order
from utils.telemetry import configure_telemetry


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["error"]["code"] == code and body["status"] == status
    return dict(body)


def test_an_order_shows_its_state_items_and_time(gateway: Gateway) -> None:
    order_id = gateway.client.post("/checkout", json=seed_order()).get_json()["orderId"]
    body = gateway.client.get(f"/orders/{order_id}").get_json()
    assert body == {
        "orderId": order_id,
        "state": "QUEUED",
        "reason": "",
        "items": [{"bookId": "book_105_clean_architecture", "title": "Clean Architecture", "quantity": 1}],
        "total": None,
        "updatedAt": "2026-09-21T14:13:20.500Z",
    }


def test_an_unknown_order_is_404_and_the_queue_down_is_503(gateway: Gateway) -> None:
    assert "nope" in _problem(gateway.client.get("/orders/nope"), 404, "ORDER_NOT_FOUND")["detail"]
    _problem(gateway.client.get("/orders/" + "x" * 500), 404, "ORDER_NOT_FOUND")
    gateway.queue.down = True
    _problem(gateway.client.get("/orders/nope"), 503, "DEPENDENCY_UNAVAILABLE")


def test_books_lists_the_catalog_with_price_and_stock(gateway: Gateway) -> None:
    books = gateway.client.get("/books").get_json()["books"]
    assert len(books) == 40
    clean_code = next(b for b in books if b["bookId"] == "book_101_clean_code")
    assert clean_code == {
        "bookId": "book_101_clean_code",
        "title": "Clean Code",
        "author": "Robert C. Martin",
        "category": "software-craft",
        "price": 34.99,
        "stock": 40,
    }


def test_without_the_database_books_have_unknown_stock_and_stock_calls_are_503(catalog_only_gateway: Gateway) -> None:
    client = catalog_only_gateway.client
    assert all(b["stock"] is None for b in client.get("/books").get_json()["books"])
    body = _problem(client.get("/stock/read?book_id=book_101_clean_code"), 503, "DEPENDENCY_UNAVAILABLE")
    assert body["detail"] == "books database not available"
    _problem(
        client.post("/stock/increment", json={"book_id": "book_101_clean_code", "amount": 1}),
        503,
        "DEPENDENCY_UNAVAILABLE",
    )


def test_stock_read_and_increment(gateway: Gateway) -> None:
    client = gateway.client
    assert client.get("/stock/read?book_id=book_101_clean_code").get_json() == {"success": True, "quantity": 40}
    reply = client.post("/stock/increment", data=json.dumps({"book_id": "book_101_clean_code", "amount": 5}))
    assert reply.get_json() == {"status": "Success", "new_quantity": 45}
    assert client.get("/stock/read?book_id=book_101_clean_code").get_json()["quantity"] == 45


@pytest.mark.parametrize(
    "call, status, code",
    [
        (lambda c: c.get("/stock/read"), 400, "INVALID_REQUEST"),
        (lambda c: c.get("/stock/read?book_id=nope"), 404, "BOOK_NOT_FOUND"),
        (
            lambda c: c.post("/stock/increment", json={"book_id": "book_101_clean_code", "amount": 0}),
            400,
            "INVALID_REQUEST",
        ),
        (
            lambda c: c.post("/stock/increment", json={"book_id": "book_101_clean_code", "amount": "5"}),
            400,
            "INVALID_REQUEST",
        ),
        (lambda c: c.post("/stock/increment", json={"amount": 5}), 400, "INVALID_REQUEST"),
        (lambda c: c.post("/stock/increment", data="nope"), 400, "INVALID_REQUEST"),
        (lambda c: c.post("/stock/increment", json={"book_id": "nope", "amount": 5}), 404, "BOOK_NOT_FOUND"),
    ],
)
def test_bad_stock_calls_are_problems(gateway: Gateway, call: Any, status: int, code: str) -> None:
    _problem(call(gateway.client), status, code)


def test_cluster_shows_both_groups_and_the_queue(gateway: Gateway) -> None:
    body = gateway.client.get("/cluster").get_json()
    assert set(body["groups"]) == {"order_executor", "books_database"}
    assert body["queue"]["depth"] == 0


def test_healthz_and_readyz(gateway: Gateway) -> None:
    assert gateway.client.get("/healthz").get_json() == {"status": "ok"}
    ready = gateway.client.get("/readyz")
    assert ready.status_code == 200 and all(ready.get_json()["dependencies"].values())
    assert set(ready.get_json()["dependencies"]) == {
        "transaction_verification",
        "fraud_detection",
        "suggestions",
        "order_queue",
        "books_database",
    }
    gateway.flow.down = "suggestions"
    gateway.queue.down = True
    body = _problem(gateway.client.get("/readyz"), 503, "NOT_READY")
    assert body["dependencies"]["suggestions"] is False and body["dependencies"]["order_queue"] is False
    assert "order_queue" in body["detail"] and "suggestions" in body["detail"]


def test_readyz_asks_the_extra_probes_too() -> None:
    gateway = build_gateway(probes={"payment_service": lambda: False})
    body = _problem(gateway.client.get("/readyz"), 503, "NOT_READY")
    assert body["dependencies"]["payment_service"] is False and "payment_service" in body["detail"]


def _scrape(gateway: Gateway) -> dict[str, Any]:
    response = gateway.client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    return {f.name: f for f in text_string_to_metric_families(response.get_data(as_text=True))}


def _checkouts_by_outcome(gateway: Gateway) -> dict[str, float]:
    family = _scrape(gateway).get("checkouts")
    return {s.labels["outcome"]: s.value for s in family.samples if s.name == "checkouts_total"} if family else {}


def test_metrics_are_prometheus_text_with_the_checkout_instruments(gateway: Gateway) -> None:
    configure_telemetry("orchestrator-test")
    before = _checkouts_by_outcome(gateway)
    gateway.client.post("/checkout", json=seed_order())
    gateway.client.post("/checkout", json=seed_order(termsAndConditionsAccepted=False))
    gateway.client.post("/checkout", data=b"x" * 70_000)  # 413: the caller's fault, not an error of ours
    after = _checkouts_by_outcome(gateway)
    for outcome in ("approved", "rejected", "invalid"):
        assert after.get(outcome, 0) - before.get(outcome, 0) == 1, outcome
    assert after.get("error", 0) == before.get("error", 0)
    families = _scrape(gateway)
    assert "checkout_duration_seconds" in families and "checkouts_in_flight" in families
    buckets = {s.labels["le"] for s in families["checkout_duration_seconds"].samples if "le" in s.labels}
    assert "0.025" in buckets  # sized in seconds, not OTel's default millisecond buckets
    assert "gateway_queue_depth" in families
    for family in families.values():  # no per-order label values
        assert all("order_id" not in s.labels for s in family.samples)


def test_cors_allows_the_frontend_and_exposes_the_correlation_id(gateway: Gateway) -> None:
    preflight = gateway.client.options(
        "/checkout",
        headers={
            "Origin": FRONTEND,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type, Idempotency-Key",
        },
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert "idempotency-key" in preflight.headers["Access-Control-Allow-Headers"].lower()
    reply = gateway.client.post("/checkout", json=seed_order(), headers={"Origin": FRONTEND})
    assert "X-Correlation-ID" in reply.headers["Access-Control-Expose-Headers"]
    other = gateway.client.get("/books", headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_unknown_routes_and_methods_are_problems(gateway: Gateway) -> None:
    _problem(gateway.client.get("/nowhere"), 404, "NOT_FOUND")
    response = gateway.client.get("/checkout")
    _problem(response, 405, "METHOD_NOT_ALLOWED")
    assert "POST" in response.headers["Allow"]


def test_an_unexpected_error_is_a_generic_500_problem_without_the_trace(gateway: Gateway) -> None:
    def explode(order: Order) -> ValidationOutcome:
        raise RuntimeError("secret internals")

    gateway.flow.validate = explode  # type: ignore[method-assign]
    response = gateway.client.post("/checkout", json=seed_order())
    body = _problem(response, 500, "INTERNAL")
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True) and body["detail"]
