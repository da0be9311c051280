"""Personal data kept only as long as the retention setting (docs/operations.md): the rule (order_queue/core/
retention.py) and the purge over the real SQLite file, which afterwards holds no byte of the name or the e-mail."""

from __future__ import annotations

from pathlib import Path

import pytest

from order_queue.core.policy import OrderFeatures, PriorityPolicy, Shipping
from order_queue.core.retention import Retention, has_personal_data, redact
from order_queue.retention import RetentionPurge
from order_queue.store import QueueStore
from testing.orders import queue_order
from utils.order.wire import order_from_queue_proto
from utils.pb.order_queue import order_queue_pb2 as pb

NAME, EMAIL = "Ada Lovelace-Retained", "ada.retained@example.com"


def _order(order_id: str) -> pb.Order:
    message = queue_order(order_id, [("book-1", 1)], "tok_x", "1111", user_name=NAME)
    message.user_contact, message.billing_country = EMAIL, "Estonia"
    return message


def test_the_rule_erases_name_contact_and_address_and_keeps_what_execution_needs() -> None:
    order = order_from_queue_proto(_order("o1"))
    assert has_personal_data(order)
    kept = redact(order)
    assert not has_personal_data(kept)
    assert (kept.items, kept.payment_token, kept.credit_card, kept.shipping_method) == (
        order.items,
        order.payment_token,
        order.credit_card,
        order.shipping_method,
    )
    assert Retention(3600).cutoff(10_000) == 6_400
    with pytest.raises(ValueError):
        Retention(0)


def test_the_purge_erases_only_orders_past_retention_and_leaves_no_copy_in_the_file(tmp_path: Path) -> None:
    now = [1_000.0]
    store = QueueStore(tmp_path / "queue.sqlite3", PriorityPolicy(), 100, 1_000, clock=lambda: now[0])
    features = OrderFeatures(1, Shipping.STANDARD, False)
    store.enqueue("old", _order("old").SerializeToString(), features)
    now[0] += 50
    store.enqueue("new", _order("new").SerializeToString(), features)
    purge = RetentionPurge(store, Retention(personal_data_s=100, batch_max=1), clock=lambda: now[0])
    now[0] += 60  # "old" is 110 s old, "new" 60 s
    assert purge.purge_once() == 1 and purge.purge_once() == 0
    old, new = (pb.Order.FromString(store.get(i).payload) for i in ("old", "new"))  # type: ignore[union-attr]
    assert (old.user_name, old.user_contact, old.billing_country) == ("", "", "")
    assert old.payment_token == "tok_x" and list(old.items) == list(new.items)
    assert new.user_name == NAME
    now[0] += 60
    assert purge.purge_once() == 1
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert NAME.encode() not in raw and EMAIL.encode() not in raw
