"""utils/order/wire.py, the one place an order changes form: both protos round-trip the domain Order, and the
one ITEMS_MAX is enforced at the edge (a peer's proto with one item too many is refused).
"""

from __future__ import annotations

from typing import TypeVar

import pytest

from tests.services.validation.conftest import SEED_ORDER, order_of
from utils.order.order import ITEMS_MAX
from utils.order.wire import order_from_proto, order_from_queue_proto, order_to_proto, order_to_queue_proto
from utils.pb.common import common_pb2
from utils.pb.order_queue import order_queue_pb2 as queue_pb

M = TypeVar("M", common_pb2.OrderData, queue_pb.Order)


def test_the_flow_proto_round_trips_the_order_with_its_resolved_items() -> None:
    order = order_of("o1")
    assert order_from_proto(order_to_proto(order), "o1") == order
    assert order.items[0].found and order.items[0].unit_price_cents > 0


def test_the_queue_proto_keeps_the_resolved_items_and_never_the_card() -> None:
    order = order_of("o1").for_queue("tok")
    message = order_to_queue_proto(order)
    assert b"4111111111111111" not in message.SerializeToString()
    back = order_from_queue_proto(message)
    assert (back.items[0].book_id, back.items[0].unit_price_cents) == (
        order.items[0].book_id,
        order.items[0].unit_price_cents,
    )
    assert (back.credit_card.last4, back.payment_token, back.credit_card.number) == ("1111", "tok", "")


def test_one_item_more_than_items_max_is_refused_at_the_wire_edge() -> None:
    flow = order_to_proto(order_of("o1"))
    queued = order_to_queue_proto(order_of("o1").for_queue())
    assert len(order_from_proto(_lengthened(flow, ITEMS_MAX)).items) == ITEMS_MAX
    with pytest.raises(ValueError, match=f"at most {ITEMS_MAX} items"):
        order_from_proto(_lengthened(flow, ITEMS_MAX + 1))
    with pytest.raises(ValueError, match=f"at most {ITEMS_MAX} items"):
        order_from_queue_proto(_lengthened(queued, ITEMS_MAX + 1))


def test_the_api_refuses_more_than_items_max_too() -> None:
    from pydantic import ValidationError

    from orchestrator.api_models import CheckoutRequest

    with pytest.raises(ValidationError):
        CheckoutRequest.model_validate({**SEED_ORDER, "items": SEED_ORDER["items"] * (ITEMS_MAX + 1)})


def _lengthened(message: M, lines: int) -> M:
    """The same order with its first item repeated `lines` times."""
    longer = type(message)()
    longer.CopyFrom(message)
    del longer.items[:]
    for _ in range(lines):
        longer.items.add().CopyFrom(message.items[0])
    return longer
