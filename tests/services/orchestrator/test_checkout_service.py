"""The checkout use case without HTTP: each book looked up once per checkout, the queue never given a card
number or CVV, and its domain errors answered as the same problem+json as before (status, code, Retry-After).
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from orchestrator.api_models import CheckoutRequest
from orchestrator.checkout import STORED_REASON_CHARS_MAX, CheckoutService, Outcome, stored_reason
from orchestrator.checkout_errors import CheckoutUnavailable, DependencyUnavailable, QueueFull, TokenizationUnavailable
from orchestrator.problems import checkout_problem
from orchestrator.queue_adapter import QueueAdapter
from testing.orders import seed_order
from tests.services.orchestrator.conftest import build_gateway
from tests.services.orchestrator.fakes import GOOD_CARD, CountingCatalog, FakeFlow, FakeQueue
from utils.catalog.file import load_catalog
from utils.order.order import Order

ITEMS = [
    {"name": "Clean Architecture", "quantity": 1},
    {"bookId": "book_101_clean_code", "quantity": 2},
    {"name": "No Such Book", "quantity": 1},
]


def _service(catalog: CountingCatalog, flow: FakeFlow, queue: FakeQueue) -> CheckoutService:
    return CheckoutService(
        flow, QueueAdapter(queue), catalog, make_order_id=lambda: "order-1", correlation_id=lambda: "corr-1"
    )


@pytest.mark.parametrize("terms", [True, False])  # approved (unknown book aside) and rejected alike
def test_each_item_is_looked_up_in_the_catalog_once_per_checkout(terms: bool) -> None:
    catalog, flow, queue = CountingCatalog(load_catalog().books), FakeFlow(), FakeQueue()
    request = CheckoutRequest.model_validate(seed_order(items=ITEMS[:2], termsAndConditionsAccepted=terms))
    reply = _service(catalog, flow, queue).checkout(request)
    assert reply.outcome is (Outcome.APPROVED if terms else Outcome.REJECTED)
    assert catalog.lookups == [(None, "Clean Architecture"), ("book_101_clean_code", None)]
    queued = queue.records["order-1"].order
    assert [(i.book_id, i.title, i.quantity, i.unit_price_cents) for i in queued.items] == [
        ("book_105_clean_architecture", "Clean Architecture", 1, 3299),
        ("book_101_clean_code", "Clean Code", 2, 3499),
    ]


def test_an_unknown_book_is_looked_up_once_and_rejected_in_the_course_words() -> None:
    catalog, flow, queue = CountingCatalog(load_catalog().books), FakeFlow(), FakeQueue()
    reply = _service(catalog, flow, queue).checkout(CheckoutRequest.model_validate(seed_order(items=ITEMS)))
    assert len(catalog.lookups) == len(ITEMS)
    assert reply.body["reasons"] == ["Unknown book: No Such Book"]
    record = queue.records["order-1"].order
    assert [(i.book_id, i.title) for i in record.items][2] == ("", "No Such Book")  # shown as the shopper named it


def test_the_queue_gets_no_card_number_or_cvv_only_the_last_four_and_token() -> None:
    catalog, flow, queue = CountingCatalog(load_catalog().books), FakeFlow(), FakeQueue()
    given: list[Order] = []

    class Tokens:
        def tokenize(self, order: Order) -> str:
            assert order.credit_card.number == GOOD_CARD  # the payment service is the one place the number goes
            return "tok-1"

    class Recording(QueueAdapter):
        def enqueue(self, order: Order) -> Any:
            given.append(order)
            return super().enqueue(order)

    service = CheckoutService(
        flow,
        Recording(queue),
        catalog,
        make_order_id=lambda: "order-1",
        tokenizer=Tokens(),
        correlation_id=lambda: "corr-1",
    )
    service.checkout(CheckoutRequest.model_validate(seed_order()))
    (order,) = given
    assert (order.credit_card.number, order.credit_card.cvv, order.credit_card.expiration_date) == ("", "", "")
    assert (order.credit_card.last4, order.payment_token, order.correlation_id) == ("1111", "tok-1", "corr-1")
    assert GOOD_CARD not in repr(order)
    stored = queue.records["order-1"].order
    assert (stored.card_last4, stored.payment_token) == ("1111", "tok-1")
    assert GOOD_CARD.encode() not in stored.SerializeToString()
    # The validation flow still gets the whole card: verification checks its format and CVV.
    assert flow.validated[0][1].credit_card.number == GOOD_CARD and flow.validated[0][1].credit_card.cvv == "123"


@pytest.mark.parametrize(
    "error, code, detail, retry_after",
    [
        (QueueFull("full"), "QUEUE_FULL", "the order queue is full; the order was not placed, try again later", "5"),
        (
            DependencyUnavailable("order_queue", "UNAVAILABLE"),
            "DEPENDENCY_UNAVAILABLE",
            "order_queue is not available; the order was not placed, try again",
            "1",
        ),
        (
            DependencyUnavailable("fraud_detection"),
            "DEPENDENCY_UNAVAILABLE",
            "fraud_detection is not available; the order was not placed, try again",
            "1",
        ),
        (
            TokenizationUnavailable("down"),
            "DEPENDENCY_UNAVAILABLE",
            "payment_service could not tokenize the card; the order was not placed, try again",
            "1",
        ),
    ],
)
def test_domain_errors_map_to_the_problems_the_api_answered_before(
    error: CheckoutUnavailable, code: str, detail: str, retry_after: str
) -> None:
    problem = checkout_problem(error)
    assert (problem.status, problem.code, problem.title, problem.detail) == (503, code, "Service Unavailable", detail)
    assert problem.headers == {"Retry-After": retry_after}


def test_a_tokenizer_down_is_503_through_the_api_and_nothing_is_queued() -> None:
    class Down:
        def tokenize(self, order: Order) -> str:
            raise TokenizationUnavailable("payment_service unavailable")

    gateway = build_gateway(tokenizer=Down())
    try:
        response = gateway.client.post("/checkout", data=json.dumps(seed_order()))
        body = response.get_json(force=True)
        assert (response.status_code, body["error"]["code"]) == (503, "DEPENDENCY_UNAVAILABLE")
        assert body["detail"].startswith("payment_service could not tokenize the card")
        assert response.headers["Retry-After"] == "1" and gateway.queue.records == {}
        assert len(gateway.flow.cleared) == 1  # the validation services still forget the order
    finally:
        gateway.idempotency.close()


def test_the_api_model_has_no_last4_of_its_own() -> None:
    from orchestrator import api_models

    assert not hasattr(api_models.CreditCard, "last4")


def test_a_stored_rejection_reason_is_cut_to_its_bound_however_long_the_quoted_input() -> None:
    reasons = ("Book 'x' not found", "Book '" + "y" * 20_000 + "' not found")
    stored = stored_reason(reasons)
    assert len(stored) == STORED_REASON_CHARS_MAX and stored.endswith("…")
    assert stored.startswith("Book 'x' not found; Book 'yyy")
    assert stored_reason(("short", "reasons")) == "short; reasons"


class _GatedTokens:
    """A tokenizer that answers only once the validation flow has begun: a checkout that tokenized after the flow
    (sequentially) would wait for it forever; one that tokenizes beside it finishes."""

    def __init__(self, flow: FakeFlow, fail: bool = False) -> None:
        self.flow = flow
        self.fail = fail
        self.started = threading.Event()
        self.asked: list[str] = []

    def tokenize(self, order: Order) -> str:
        self.asked.append(order.order_id)
        self.started.set()
        assert self.flow.entered.wait(10), "the flow never began while the token was being made"
        if self.fail:
            raise TokenizationUnavailable("payment_service unavailable")
        return "tok-" + order.order_id


def test_the_token_is_made_while_the_order_is_validated_and_pays_for_that_order() -> None:
    gate = threading.Event()
    flow, queue = FakeFlow(gate=gate), FakeQueue()
    tokens = _GatedTokens(flow)
    service = CheckoutService(flow, QueueAdapter(queue), load_catalog(), make_order_id=lambda: "o-1", tokenizer=tokens)
    try:
        # The flow holds until the token has been asked for: only a concurrent Tokenize lets this checkout end.
        def open_gate_once_asked() -> None:
            if tokens.started.wait(10):
                gate.set()

        opener = threading.Thread(target=open_gate_once_asked)
        opener.start()
        reply = service.checkout(CheckoutRequest.model_validate(seed_order()))
        opener.join(10)
        assert reply.outcome is Outcome.APPROVED and tokens.asked == ["o-1"]
        assert queue.records["o-1"].order.payment_token == "tok-o-1"
    finally:
        service.close()


def test_a_rejected_orders_token_is_never_used_and_its_failure_does_not_change_the_verdict() -> None:
    flow, queue = FakeFlow(), FakeQueue()
    tokens = _GatedTokens(flow, fail=True)
    service = CheckoutService(flow, QueueAdapter(queue), load_catalog(), make_order_id=lambda: "o-2", tokenizer=tokens)
    try:
        reply = service.checkout(CheckoutRequest.model_validate(seed_order(termsAndConditionsAccepted=False)))
        assert reply.outcome is Outcome.REJECTED  # not a 503: the token was not needed
        assert queue.records["o-2"].order.payment_token == ""  # recorded as rejected, with no token
    finally:
        service.close()


def test_an_approved_order_whose_token_failed_is_not_placed() -> None:
    flow, queue = FakeFlow(), FakeQueue()
    service = CheckoutService(
        flow, QueueAdapter(queue), load_catalog(), make_order_id=lambda: "o-3", tokenizer=_GatedTokens(flow, True)
    )
    try:
        with pytest.raises(TokenizationUnavailable):
            service.checkout(CheckoutRequest.model_validate(seed_order()))
        assert queue.records == {} and [oid for oid, _ in flow.cleared] == ["o-3"]
    finally:
        service.close()
