"""GET /orders/{id}/trace and /orders/{id}/twopc (orchestrator/views/drawings.py) with fake sources."""

from __future__ import annotations

from tests.services.orchestrator.conftest import build_gateway
from tests.services.orchestrator.drawing_fakes import install_fakes


def test_the_trace_of_a_rejected_order_ends_at_its_failing_event_with_the_reason() -> None:
    gateway = build_gateway()
    install_fakes(gateway.app)
    body = gateway.client.get("/orders/o-rejected/trace").get_json()
    assert body["status"] == "rejected"
    assert [e["event"] for e in body["events"]][-2:] == ["VerifyCreditCardFormat", "Outcome"]
    failing = body["events"][-2]
    assert failing["letter"] == "c" and not failing["passed"] and failing["reasons"] == ["Invalid card"]
    assert failing["held"] and failing["arrivedAt"] < failing["ranAt"]
    report = {
        "from": {"service": "transaction_verification", "event": "VerifyCreditCardFormat"},
        "to": {"service": "orchestrator", "event": "Outcome"},
    }
    assert report in body["messages"]


def test_an_unknown_orders_trace_is_404_naming_the_order() -> None:
    gateway = build_gateway()
    install_fakes(gateway.app)
    reply = gateway.client.get("/orders/nope/trace")
    assert reply.status_code == 404 and "nope" in reply.get_json()["detail"]


def test_the_twopc_timeline_shows_the_vote_and_the_decision_with_its_term_and_index() -> None:
    gateway = build_gateway()
    _, timelines = install_fakes(gateway.app)
    body = gateway.client.get("/orders/o1/twopc").get_json()
    assert timelines.asked == ["o1"] and body["decision"] == "ABORT"
    vote = next(s for s in body["steps"] if s["kind"] == "vote")
    assert vote["participant"] == "books_database" and not vote["ok"] and vote["detail"] == "not enough stock"
    decision = next(s for s in body["steps"] if s["kind"] == "decision_logged")
    assert (decision["term"], decision["index"], decision["appliedBy"]) == (2, 8, ["executor-1", "executor-2"])
    assert {"id": "executor-3", "status": "unreachable"} in body["replicas"]


def test_the_timeline_is_503_when_no_executor_replica_answers() -> None:
    gateway = build_gateway()
    _, timelines = install_fakes(gateway.app)
    timelines.down = True
    reply = gateway.client.get("/orders/o1/twopc")
    assert reply.status_code == 503 and reply.headers["Retry-After"] == "1"


def test_a_gateway_without_executors_shows_an_empty_timeline() -> None:
    body = build_gateway().client.get("/orders/o1/twopc").get_json()
    assert body["steps"] == [] and body["decision"] is None
