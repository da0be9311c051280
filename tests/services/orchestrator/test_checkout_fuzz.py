"""Property: whatever JSON arrives at POST /checkout, the answer is 200 (a verdict) or a 4xx problem —
never a 500 and never a stack trace (docs/design.md §7). Hypothesis mutates the seed order's members.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testing.orders import seed_order
from tests.services.orchestrator.conftest import build_gateway

GATEWAY = build_gateway()
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=8,
)
MEMBERS = sorted(seed_order()) + ["termsAccepted", "padding"]


def _mutated(changes: dict[str, Any], drop: list[str]) -> dict[str, Any]:
    order = seed_order(**changes)
    for member in drop:
        order.pop(member, None)
    return order


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes=st.dictionaries(st.sampled_from(MEMBERS), JSON, max_size=3),
    drop=st.lists(st.sampled_from(MEMBERS), max_size=3),
    item=st.dictionaries(st.sampled_from(["name", "bookId", "quantity", "x"]), JSON, max_size=3),
)
def test_any_mutation_of_the_order_is_a_verdict_or_a_4xx_problem(
    changes: dict[str, Any], drop: list[str], item: dict[str, Any]
) -> None:
    order = _mutated(changes, drop)
    if item:
        order["items"] = [item]
    response = GATEWAY.client.post("/checkout", data=json.dumps(order))
    assert response.status_code in (200, 400), response.get_data(as_text=True)
    body = response.get_json(force=True)
    if response.status_code == 200:
        assert body["status"] in ("Order Approved", "Order Rejected")
    else:
        assert response.mimetype == "application/problem+json" and body["error"]["code"] == "INVALID_REQUEST"


@settings(max_examples=40, deadline=None)
@given(value=JSON)
def test_any_json_value_as_the_body_is_never_a_server_error(value: Any) -> None:
    response = GATEWAY.client.post("/checkout", data=json.dumps(value))
    assert response.status_code in (200, 400)
