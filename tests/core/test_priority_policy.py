"""The queue's priority policy (docs/design.md §3): quantity, shipping speed and gift wrap first; ties by arrival;
aging, so no order starves — checked on the pure policy with explicit times.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_queue.core.policy import OrderFeatures, PriorityPolicy, Ranked, Shipping, sort_for_service

POLICY = PriorityPolicy()


def _features(quantity: int = 1, shipping: str = "standard", gift: bool = False) -> OrderFeatures:
    return OrderFeatures(quantity, Shipping.parse(shipping), gift)


def _ranked(order_id: str, features: OrderFeatures, enqueued_at_s: float, seq: int) -> Ranked:
    return Ranked(order_id, POLICY.rank_key(POLICY.base_priority(features), enqueued_at_s), seq)


def _first(*orders: Ranked) -> str:
    return sort_for_service(list(orders))[0].order_id


def test_faster_shipping_goes_first_express_then_priority_then_standard() -> None:
    orders = [
        _ranked("standard", _features(shipping="standard"), 0.0, 1),
        _ranked("priority", _features(shipping="priority"), 0.0, 2),
        _ranked("express", _features(shipping="express"), 0.0, 3),
    ]
    assert [r.order_id for r in sort_for_service(orders)] == ["express", "priority", "standard"]


def test_bigger_quantity_goes_first() -> None:
    assert (
        _first(_ranked("one", _features(quantity=1), 0.0, 1), _ranked("five", _features(quantity=5), 0.0, 2)) == "five"
    )


def test_gift_wrap_goes_first() -> None:
    assert _first(_ranked("plain", _features(), 0.0, 1), _ranked("gift", _features(gift=True), 0.0, 2)) == "gift"


def test_ties_keep_arrival_order() -> None:
    same = _features(quantity=2, shipping="express")
    orders = [_ranked(f"o{seq}", same, 5.0, seq) for seq in (3, 1, 2)]
    assert [r.order_id for r in sort_for_service(orders)] == ["o1", "o2", "o3"]


def test_unknown_shipping_method_ranks_as_standard() -> None:
    assert Shipping.parse("teleport") is Shipping.STANDARD
    assert Shipping.parse(" Express ") is Shipping.EXPRESS


def test_quantity_points_are_capped_so_the_base_priority_is_bounded() -> None:
    huge = POLICY.base_priority(_features(quantity=10_000, shipping="express", gift=True))
    assert huge == POLICY.base_priority_max()


def test_an_older_order_overtakes_a_newer_more_urgent_one_after_the_overtake_window() -> None:
    standard_base = POLICY.base_priority(_features())
    window_s = POLICY.overtake_window_s(standard_base)
    old = _ranked("old-standard", _features(), 0.0, 1)
    urgent_soon = _ranked("urgent-soon", _features(quantity=100, shipping="express", gift=True), window_s - 1, 2)
    urgent_late = _ranked("urgent-late", _features(quantity=100, shipping="express", gift=True), window_s + 1, 3)
    assert _first(old, urgent_soon) == "urgent-soon"
    assert _first(old, urgent_late) == "old-standard"


def test_no_starvation_a_standard_order_beats_a_stream_of_new_express_orders() -> None:
    """A new express order every second, one order served every 2 s: without aging the standard one
    would wait forever; with it, it is served within the overtake window."""
    waiting = [_ranked("standard", _features(), 0.0, 0)]
    served_at_s: float | None = None
    seq = 0
    for second in range(1, 600):
        seq += 1
        waiting.append(_ranked(f"express-{seq}", _features(shipping="express"), float(second), seq))
        if second % 2 == 0:
            first = sort_for_service(waiting)[0]
            waiting.remove(first)
            if first.order_id == "standard":
                served_at_s = float(second)
                break
    assert served_at_s is not None, "the standard order starved"
    express_gap = POLICY.base_priority(_features(shipping="express")) - POLICY.base_priority(_features())
    # It waits at most the window during which newer express orders still outrank it, and the
    # backlog of those orders drains at the service rate (one per 2 s, two arrivals per 2 s).
    assert served_at_s <= 2 * express_gap / POLICY.aging_points_per_s + 2


@given(
    base_a=st.floats(0, 45),
    base_b=st.floats(0, 45),
    enqueued_a=st.floats(0, 1e6),
    enqueued_b=st.floats(0, 1e6),
    later_s=st.floats(0, 1e6),
)
def test_the_static_key_orders_exactly_as_the_effective_priority_at_any_time(
    base_a: float, base_b: float, enqueued_a: float, enqueued_b: float, later_s: float
) -> None:
    now = max(enqueued_a, enqueued_b) + later_s
    effective_a = POLICY.effective_priority(base_a, enqueued_a, now)
    effective_b = POLICY.effective_priority(base_b, enqueued_b, now)
    key_a, key_b = POLICY.rank_key(base_a, enqueued_a), POLICY.rank_key(base_b, enqueued_b)
    if abs(effective_a - effective_b) > 1e-6:  # away from float ties, both orders agree
        assert (effective_a > effective_b) == (key_a > key_b)


def test_aging_must_be_positive_or_orders_could_starve() -> None:
    with pytest.raises(ValueError, match="starve"):
        PriorityPolicy(aging_points_per_s=0)


def test_negative_quantity_is_a_caller_error() -> None:
    with pytest.raises(ValueError):
        OrderFeatures(-1, Shipping.STANDARD, False)
