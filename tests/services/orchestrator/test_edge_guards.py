"""The gateway's guards on writes and inputs (docs/gateway.md): cross-site writes refused, stock writes behind the
operator credential, every string and number bounded with a 400 naming the field.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from orchestrator.settings import OrchestratorSettings
from testing.orders import seed_order
from tests.services.orchestrator.conftest import FRONTEND, Gateway, build_gateway

STRANGER = "http://shop.attacker.test"


def _code(response: Any) -> str:
    assert response.mimetype == "application/problem+json", response.data
    code: str = response.get_json()["error"]["code"]
    return code


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_cors_simple_write_from_another_site_is_refused(gateway: Gateway, content_type: str | None) -> None:
    headers = {"Origin": STRANGER} | ({"Content-Type": content_type} if content_type else {})
    response = gateway.client.post("/checkout", data=_json(seed_order()), headers=headers)
    assert response.status_code == 403 and _code(response) == "CROSS_SITE_REFUSED"
    assert gateway.flow.validated == []  # refused before any work
    stock = gateway.client.post(
        "/stock/increment",
        data='{"book_id": "book_101_clean_code", "amount": 5}',
        headers={"Origin": STRANGER, "Content-Type": "text/plain"},
    )
    assert stock.status_code == 403


@pytest.mark.parametrize("origin", [FRONTEND, "http://localhost", None])
def test_the_frontend_same_origin_and_no_origin_are_accepted(gateway: Gateway, origin: str | None) -> None:
    # The test client's own origin is http://localhost; the course frontend and suites send no Content-Type.
    headers = {"Content-Type": "text/plain"} | ({"Origin": origin} if origin else {})
    response = gateway.client.post("/checkout", data=_json(seed_order()), headers=headers)
    assert response.status_code == 200, response.data
    assert response.get_json()["status"] == "Order Approved"


@pytest.fixture
def guarded() -> Iterator[Gateway]:
    settings = OrchestratorSettings(operator_loopback=False, operator_token=SecretStr("op-secret-1"))
    built = build_gateway(settings=settings)
    yield built
    built.idempotency.close()


def test_stock_writes_need_the_operator_token_when_loopback_trust_is_off(guarded: Gateway) -> None:
    body = '{"book_id": "book_101_clean_code", "amount": 5}'
    before = guarded.client.get("/stock/read?book_id=book_101_clean_code").get_json()["quantity"]
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic b3A6b3A="}):
        refused = guarded.client.post("/stock/increment", data=body, headers=headers)
        assert refused.status_code == 401 and _code(refused) == "OPERATOR_CREDENTIAL_REQUIRED"
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert guarded.client.get("/stock/read?book_id=book_101_clean_code").get_json()["quantity"] == before
    allowed = guarded.client.post("/stock/increment", data=body, headers={"Authorization": "Bearer op-secret-1"})
    assert allowed.status_code == 200 and allowed.get_json()["new_quantity"] == before + 5


def test_loopback_clients_need_no_token_by_default_but_others_do(gateway: Gateway) -> None:
    body = '{"book_id": "book_101_clean_code", "amount": 1}'
    assert gateway.client.post("/stock/increment", data=body).status_code == 200  # the test client is 127.0.0.1
    remote = gateway.client.post("/stock/increment", data=body, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert remote.status_code == 401


def test_the_token_can_come_from_a_secret_file(tmp_path: Any) -> None:
    secret = tmp_path / "operator-token"
    secret.write_text("from-a-file\n")
    built = build_gateway(settings=OrchestratorSettings(operator_loopback=False, operator_token_file=secret))
    try:
        ok = built.client.post(
            "/stock/increment",
            data='{"book_id": "book_101_clean_code", "amount": 1}',
            headers={"Authorization": "Bearer from-a-file"},
        )
        assert ok.status_code == 200
    finally:
        built.idempotency.close()


LONG = "x" * 10_000
STRING_FIELDS = [
    ("user", "name"),
    ("user", "contact"),
    ("creditCard", "number"),
    ("creditCard", "expirationDate"),
    ("creditCard", "cvv"),
    ("billingAddress", "street"),
    ("billingAddress", "city"),
    ("billingAddress", "state"),
    ("billingAddress", "zip"),
    ("billingAddress", "country"),
]


@pytest.mark.parametrize(("member", "field"), STRING_FIELDS)
def test_every_long_string_is_refused_naming_its_field(gateway: Gateway, member: str, field: str) -> None:
    body = seed_order()
    body[member] = dict(body[member]) | {field: LONG}
    _assert_refused(gateway, body, f"{member}.{field}")


@pytest.mark.parametrize("field", ["name", "bookId"])
def test_a_long_item_name_or_id_is_refused(gateway: Gateway, field: str) -> None:
    _assert_refused(gateway, seed_order(items=[{field: LONG, "quantity": 1}]), f"items[0].{field}")


def test_a_long_shipping_method_is_refused(gateway: Gateway) -> None:
    _assert_refused(gateway, seed_order(shippingMethod=LONG), "shippingMethod")


@pytest.mark.parametrize("quantity", [2**31, -(2**31) - 1, 10**30, 1.5, "1"])
def test_an_out_of_range_quantity_is_a_400_not_a_500(gateway: Gateway, quantity: object) -> None:
    _assert_refused(
        gateway, seed_order(items=[{"name": "Clean Architecture", "quantity": quantity}]), "items[0].quantity"
    )


@pytest.mark.parametrize("quantity", [0, 101, 2**31 - 1, -(2**31)])
def test_an_int32_quantity_reaches_validation_and_is_rejected_there(gateway: Gateway, quantity: int) -> None:
    body = seed_order(items=[{"name": "Clean Architecture", "quantity": quantity}])
    response = gateway.client.post("/checkout", json=body)
    assert response.status_code == 200, response.data  # the course's semantics: a well-formed, invalid order


@pytest.mark.parametrize(("field", "value"), [("amount", 2**31), ("amount", 10**40), ("book_id", LONG)])
def test_stock_increment_bounds_name_the_field(gateway: Gateway, field: str, value: object) -> None:
    body = {"book_id": "book_101_clean_code", "amount": 1} | {field: value}
    response = gateway.client.post("/stock/increment", json=body)
    assert response.status_code == 400 and [e["field"] for e in response.get_json()["errors"]] == [field]


def test_stock_read_bounds_its_book_id(gateway: Gateway) -> None:
    response = gateway.client.get("/stock/read", query_string={"book_id": LONG})
    assert response.status_code == 400 and response.get_json()["errors"][0]["field"] == "book_id"


def _assert_refused(gateway: Gateway, body: dict[str, Any], field: str) -> None:
    response = gateway.client.post("/checkout", json=body)
    assert response.status_code == 400, response.data
    assert _code(response) == "INVALID_REQUEST"
    assert field in [e["field"] for e in response.get_json()["errors"]]
    assert LONG not in response.get_data(as_text=True)  # the answer names the field, never echoes the input
    assert gateway.flow.validated == []


def _json(body: dict[str, Any]) -> str:
    import json

    return json.dumps(body)
