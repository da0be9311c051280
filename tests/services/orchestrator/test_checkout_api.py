"""POST /checkout (docs/design.md §3, §7): approved and rejected orders, bad input as problem+json naming the field,
the course frontend's quirks (no Content-Type, `termsAccepted`), dependencies down, correlation ids.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from testing.orders import seed_order
from tests.services.orchestrator.conftest import Gateway
from tests.services.orchestrator.fakes import CLOCK
from utils.order.order import User
from utils.pb.order_queue import order_queue_pb2 as queue_pb

PROBLEM = "application/problem+json"


def _post(gateway: Gateway, body: Any, **kwargs: Any) -> Any:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return gateway.client.post("/checkout", data=data, **kwargs)


def _assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status and body["error"]["code"] == code
    assert body["error"]["message"] == body["detail"] and body["title"] and body["type"]
    assert "Traceback" not in response.get_data(as_text=True)
    return dict(body)


def test_the_seed_order_is_approved_enqueued_and_cleared(gateway: Gateway) -> None:
    response = _post(gateway, seed_order(), content_type="application/json")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "Order Approved" and body["reasons"] == []
    assert "queued for processing" in body["message"]
    assert len(body["suggestedBooks"]) == 3 and set(body["suggestedBooks"][0]) == {"bookId", "title", "author"}
    assert body["finalVectorClock"] == CLOCK
    record = gateway.queue.records[body["orderId"]]
    assert record.state == queue_pb.QUEUED
    assert record.order.card_last4 == "1111" and record.order.shipping_method == "express"
    assert [(i.book_id, i.title, i.quantity) for i in record.order.items] == [
        ("book_105_clean_architecture", "Clean Architecture", 1)
    ]
    assert gateway.flow.cleared == [(body["orderId"], CLOCK)]


def test_the_queue_never_sees_the_full_card_number_or_cvv(gateway: Gateway) -> None:
    body = _post(gateway, seed_order()).get_json()
    order = type(gateway.queue.records[body["orderId"]].order)()
    order.CopyFrom(gateway.queue.records[body["orderId"]].order)
    # The random ids may hold any digits: blank them so only what came from the shopper is searched.
    order.order_id, order.correlation_id, order.payment_token = "", "", ""
    stored = order.SerializeToString()
    assert b"4111111111111111" not in stored and b"123" not in stored.replace(b"1111", b"")


def test_json_without_a_content_type_and_terms_accepted_spelling_are_accepted(gateway: Gateway) -> None:
    order = seed_order()
    del order["termsAndConditionsAccepted"]
    order["termsAccepted"] = True
    response = gateway.client.post("/checkout", data=json.dumps(order), headers={"Content-Type": ""})
    assert response.status_code == 200 and response.get_json()["status"] == "Order Approved"
    assert gateway.flow.validated[0][1].terms_accepted is True


def test_the_flow_gets_the_normalised_order(gateway: Gateway) -> None:
    _post(gateway, {"items": [{"bookId": "book_101_clean_code", "quantity": 2}], "termsAccepted": False})
    _, order = gateway.flow.validated[0]
    assert [(i.asked_id, i.asked_title, i.quantity) for i in order.items] == [("book_101_clean_code", "", 2)]
    assert [(i.book_id, i.title, i.unit_price_cents) for i in order.items] == [
        ("book_101_clean_code", "Clean Code", 3499)
    ]
    assert order.user == User(name="", contact="") and order.shipping_method == "standard"
    assert order.terms_accepted is False and order.gift_wrapping is False


def test_an_invalid_card_is_rejected_with_the_reason_and_recorded(gateway: Gateway) -> None:
    order = seed_order(creditCard={"number": "4111111111111112", "expirationDate": "12/2030", "cvv": "123"})
    response = _post(gateway, order)
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "Order Rejected" and body["suggestedBooks"] == []
    assert body["reasons"] == ["Invalid credit card format"] and "Invalid credit card format" in body["message"]
    record = gateway.queue.records[body["orderId"]]
    assert (record.state, record.reason) == (queue_pb.REJECTED, "Invalid credit card format")
    status = gateway.client.get(f"/orders/{body['orderId']}").get_json()
    assert (status["state"], status["reason"]) == ("REJECTED", "Invalid credit card format")


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"items": [{"name": "No Such Book", "quantity": 1}]}, "Unknown book: No Such Book"),
        ({"items": []}, "The cart is empty"),
        ({"termsAndConditionsAccepted": False}, "Terms and conditions not accepted"),
    ],
)
def test_well_formed_but_invalid_orders_are_rejected_not_errors(
    gateway: Gateway, changes: dict[str, Any], reason: str
) -> None:
    body = _post(gateway, seed_order(**changes)).get_json()
    assert body["status"] == "Order Rejected" and reason in body["reasons"]


def test_missing_members_are_left_to_validation_to_reject(gateway: Gateway) -> None:
    response = _post(gateway, {"items": [{"name": "Clean Architecture", "quantity": 1}]})
    assert response.status_code == 200 and response.get_json()["status"] == "Order Rejected"


@pytest.mark.parametrize(
    "raw, fragment",
    [
        (b"{not json", "not valid JSON"),
        (b"", "empty"),
        (b"[1, 2]", "JSON object, not an array"),
        (b'"hello"', "JSON object, not a string"),
        (b"\xff\xfe", "not valid JSON"),
        (b'{"items": NaN}', "not valid JSON"),
        (b"[" * 100_00 + b"]" * 100_00, "not valid JSON"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_400(gateway: Gateway, raw: bytes, fragment: str) -> None:
    body = _assert_problem(_post(gateway, raw), 400, "INVALID_REQUEST")
    assert fragment in body["detail"]
    assert gateway.flow.validated == []


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"items": [{"name": "Clean Architecture", "quantity": "1"}]}, "items[0].quantity"),
        ({"items": [{"name": "Clean Architecture", "quantity": True}]}, "items[0].quantity"),
        ({"items": [{"name": "Clean Architecture"}]}, "items[0].quantity"),
        ({"items": [{"quantity": 1}]}, "items[0]"),
        ({"items": {"name": "Clean Architecture"}}, "items"),
        ({"user": {"name": 42, "contact": "x"}}, "user.name"),
        ({"user": "Ada"}, "user"),
        ({"creditCard": {"number": 4111111111111111}}, "creditCard.number"),
        ({"giftWrapping": "no"}, "giftWrapping"),
        ({"termsAndConditionsAccepted": 1}, "termsAndConditionsAccepted"),
        ({"shippingMethod": ["express"]}, "shippingMethod"),
        ({"items": [{"name": "x" * 1000, "quantity": 1}]}, "items[0].name"),
    ],
)
def test_wrong_types_are_400_naming_the_field(gateway: Gateway, changes: dict[str, Any], field: str) -> None:
    body = _assert_problem(_post(gateway, seed_order(**changes)), 400, "INVALID_REQUEST")
    assert body["detail"].startswith(f"{field}: ")
    assert body["errors"][0]["field"] == field
    assert "4111111111111111" not in json.dumps(body)  # the input is never echoed back


def test_a_huge_body_is_413(gateway: Gateway) -> None:
    huge = seed_order(padding="x" * (65 * 1024))
    _assert_problem(_post(gateway, huge), 413, "PAYLOAD_TOO_LARGE")
    assert gateway.flow.validated == []


def test_a_validation_service_down_is_503_naming_it(gateway: Gateway) -> None:
    gateway.flow.down = "fraud_detection"
    response = _post(gateway, seed_order())
    body = _assert_problem(response, 503, "DEPENDENCY_UNAVAILABLE")
    assert "fraud_detection" in body["detail"] and response.headers["Retry-After"]
    assert gateway.queue.records == {}


def test_the_queue_down_is_503_and_a_full_queue_is_503_queue_full(gateway: Gateway) -> None:
    gateway.queue.down = True
    _assert_problem(_post(gateway, seed_order()), 503, "DEPENDENCY_UNAVAILABLE")
    gateway.queue.down, gateway.queue.full = False, True
    _assert_problem(_post(gateway, seed_order()), 503, "QUEUE_FULL")
    assert len(gateway.flow.cleared) == 2  # the validation services still forget the orders


def test_a_rejection_is_answered_even_when_the_queue_cannot_record_it(gateway: Gateway) -> None:
    gateway.queue.down = True
    body = _post(gateway, seed_order(termsAndConditionsAccepted=False)).get_json()
    assert body["status"] == "Order Rejected"


def test_a_sane_correlation_id_is_kept_and_returned_else_a_new_one(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        kept = _post(gateway, seed_order(), headers={"X-Correlation-ID": "trace-me-123"})
    assert kept.headers["X-Correlation-ID"] == "trace-me-123"
    # The queued order carries it, so the executor's 2PC calls log under the checkout's id too.
    assert gateway.queue.records[kept.get_json()["orderId"]].order.correlation_id == "trace-me-123"
    http_lines = [r for r in caplog.records if r.name == "orchestrator.http"]
    assert len(http_lines) == 1 and http_lines[0].__dict__["status"] == 200
    assert http_lines[0].__dict__["correlation_id"] == "trace-me-123"
    fresh = _post(gateway, seed_order(), headers={"X-Correlation-ID": "has spaces\x00"})
    assert fresh.headers["X-Correlation-ID"] not in ("", "has spaces\x00")


def test_no_log_line_carries_the_card_number_or_cvv(gateway: Gateway, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        _post(gateway, seed_order(creditCard={"number": "4111111111111111", "expirationDate": "12/2030", "cvv": "987"}))
        _post(gateway, seed_order(creditCard={"number": 4111111111111111}))
    # Every field a log line carries, less the record's own bookkeeping (thread ids, timestamps, line numbers),
    # whose digits could hold "987" by chance.
    bookkeeping = set(vars(logging.makeLogRecord({})))
    text = " ".join(
        f"{r.getMessage()} { ({k: v for k, v in vars(r).items() if k not in bookkeeping}) }" for r in caplog.records
    )
    assert "4111111111111111" not in text and "987" not in text
