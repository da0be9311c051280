"""An Enqueue whose answer is lost (the queue stored the order, the gateway's call timed out) must not be answered
"not placed": the shopper's retry, its idempotency key released, would make a second order of the same checkout.
"""

from __future__ import annotations

import grpc
import pytest

from orchestrator.api_models import CheckoutRequest
from orchestrator.checkout import CheckoutService, Outcome
from orchestrator.checkout_errors import DependencyUnavailable
from orchestrator.queue_adapter import CONFIRMS_MAX, QueueAdapter
from testing.orders import seed_order
from tests.services.orchestrator.fakes import FakeFlow, FakeQueue, FakeRpcError
from utils.catalog.file import load_catalog
from utils.pb.order_queue import order_queue_pb2 as queue_pb
from utils.rpc.deadline import remaining_s, reset_deadline, set_deadline_in


class LostAnswers(FakeQueue):
    """Stores every Enqueue, then loses the answers of the first `lose` calls (a deadline passed on the way back)."""

    def __init__(self, lose: int) -> None:
        super().__init__()
        self.lose = lose
        self.budgets: list[float | None] = []

    def enqueue(self, order: queue_pb.Order) -> queue_pb.EnqueueReply:
        self.budgets.append(remaining_s())
        reply = super().enqueue(order)
        if self.lose > 0:
            self.lose -= 1
            raise FakeRpcError(grpc.StatusCode.DEADLINE_EXCEEDED)
        return reply


def _checkout(queue: FakeQueue, ids: list[str]) -> Outcome:
    order_ids = iter(ids)
    service = CheckoutService(FakeFlow(), QueueAdapter(queue), load_catalog(), make_order_id=lambda: next(order_ids))
    request = CheckoutRequest.model_validate(seed_order(items=[{"bookId": "book_101_clean_code", "quantity": 1}]))
    return service.checkout(request).outcome


def test_an_order_queued_whose_answer_was_lost_is_approved_once_even_with_the_request_budget_spent() -> None:
    queue = LostAnswers(lose=1)
    token = set_deadline_in(0.0)  # the request's budget ran out in validation: the lost call had what was left
    try:
        assert _checkout(queue, ["order-1", "order-2"]) is Outcome.APPROVED
    finally:
        reset_deadline(token)
    assert list(queue.records) == ["order-1"]  # one order; a "not placed" answer would have made order-2 on retry
    assert queue.budgets[0] == 0.0 and (queue.budgets[1] or 0.0) > 0.0  # the re-send had a deadline of its own


def test_answers_lost_beyond_the_budget_still_say_unavailable_and_a_definite_refusal_is_not_resent() -> None:
    queue = LostAnswers(lose=CONFIRMS_MAX + 1)
    with pytest.raises(DependencyUnavailable):
        _checkout(queue, ["order-1"])
    assert len(queue.budgets) == 1 + CONFIRMS_MAX  # bounded
    down = FakeQueue(down=True)  # UNAVAILABLE: the call never reached the queue; nothing to confirm
    with pytest.raises(DependencyUnavailable):
        _checkout(down, ["order-1"])
    assert not down.records
