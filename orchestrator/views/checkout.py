"""POST /checkout: parse and type-check the body, honour an Idempotency-Key, run the checkout, answer.

A wrong body → 400 problem+json naming the field; a valid one → 200 "Order Approved" or "Order Rejected".
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, current_app, json, request
from werkzeug.exceptions import HTTPException

from orchestrator.api_models import CheckoutRequest, invalid_request, parse_json_object, parse_model
from orchestrator.checkout import CheckoutReply
from orchestrator.checkout_errors import CheckoutUnavailable
from orchestrator.dependencies import deps
from orchestrator.idempotency import Decision, is_valid_key
from orchestrator.metrics import GatewayMetrics
from orchestrator.problems import Problem, checkout_problem

blueprint = Blueprint("checkout", __name__)
log = logging.getLogger("orchestrator.checkout")
IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"


@blueprint.post("/checkout")
def post_checkout() -> Response:
    metrics: GatewayMetrics = current_app.extensions["bookstore.metrics"]
    started = time.perf_counter()
    metrics.in_flight.add(1)
    outcome = "error"
    try:
        response, outcome = _checkout()
        return response
    except Problem as problem:
        outcome = "invalid" if problem.status < 500 else "unavailable"
        raise
    except HTTPException as error:  # e.g. 413 from Werkzeug's body limit
        outcome = "invalid" if (error.code or 500) < 500 else "error"
        raise
    finally:
        metrics.in_flight.add(-1)
        metrics.checkouts.add(1, {"outcome": outcome})
        metrics.checkout_duration.record(time.perf_counter() - started, {"outcome": outcome})


def _checkout() -> tuple[Response, str]:
    body = parse_json_object(request.get_data(cache=True))
    order = parse_model(CheckoutRequest, body)
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        reply = _place(order)
        return _json(200, reply), reply.outcome.value
    if not is_valid_key(key):
        raise invalid_request(f"{IDEMPOTENCY_HEADER} must be 1..255 printable characters")
    store = deps().idempotency
    fingerprint = store.fingerprint(request.method, request.path, body)
    begin = store.begin(key, fingerprint)
    if begin.decision is Decision.REPLAY:
        assert begin.response is not None
        replayed = Response(begin.response.body, status=begin.response.status, mimetype="application/json")
        replayed.headers[REPLAYED_HEADER] = "true"
        return replayed, "replayed"
    if begin.decision is Decision.IN_FLIGHT:
        raise Problem(
            409,
            "IDEMPOTENCY_KEY_IN_USE",
            "Conflict",
            f"a request with this {IDEMPOTENCY_HEADER} is still being processed; retry later",
            headers={"Retry-After": "1"},
        )
    if begin.decision is Decision.MISMATCH:
        raise Problem(
            422,
            "IDEMPOTENCY_KEY_REUSED",
            "Unprocessable Content",
            f"this {IDEMPOTENCY_HEADER} was used with a different request body",
        )
    try:
        reply = _place(order)
    except BaseException:
        store.release(key)  # nothing was decided: a retry with the same key runs anew
        raise
    response = _json(200, reply)
    store.complete(key, fingerprint, response.status_code, response.get_data())
    return response, reply.outcome.value


def _place(order: CheckoutRequest) -> CheckoutReply:
    try:
        return deps().checkout.checkout(order)
    except CheckoutUnavailable as error:
        raise checkout_problem(error) from None


def _json(status: int, reply: CheckoutReply) -> Response:
    log.info(
        "checkout answered",
        extra={"order_id": reply.body["orderId"], "outcome": reply.outcome.value, "reasons": reply.body["reasons"]},
    )
    return Response(json.dumps(reply.body), status=status, mimetype="application/json")
