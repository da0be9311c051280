"""The containers end to end through the published ports: a checkout reaches COMMITTED and the stock
falls; the storefront loads from its port and its API calls are allowed (CORS) to the gateway's port.
"""

from __future__ import annotations

import random

import pytest
import requests

from tests.docker.compose_fleet import ComposeFleet
from tests.docker.orders import place, wait_final
from tests.docker.scenario import SETTLE_S, probe

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]
BOOK = "book_105_clean_architecture"


def available(fleet: ComposeFleet, book_id: str) -> int | None:
    books = requests.get(f"{fleet.api}/books", timeout=10).json()["books"]
    return int(next(b["stock"] for b in books if b["bookId"] == book_id))


def test_checkout_commits_and_stock_falls(fleet: ComposeFleet) -> None:
    before = available(fleet, BOOK)
    assert before is not None and before >= 2, f"stock of {BOOK} unknown or too low: {before}"
    placed = place(fleet.api, {BOOK: 2}, random.Random(5))
    assert placed.approved, f"not approved: {placed.status} {placed.reasons}"
    assert placed.order_id
    final, pending = wait_final(fleet.api, [placed.order_id], SETTLE_S * 3)
    assert not pending, f"order {placed.order_id} not final"
    assert final[placed.order_id]["state"] == "COMMITTED", final[placed.order_id]
    assert available(fleet, BOOK) == before - 2
    facts = probe(fleet, [placed.order_id])
    assert facts["payments"][placed.order_id]["state"] == "CAPTURED"
    assert facts["transactions"][placed.order_id] == {"state": "COMMITTED", "items": {BOOK: 2}}


def test_storefront_loads_and_may_call_the_gateway(fleet: ComposeFleet) -> None:
    page = requests.get(f"{fleet.storefront}/", timeout=10)
    assert page.status_code == 200 and "<html" in page.text.lower()
    # The page learns the gateway's address from /config.js: the host port it is published on.
    config = requests.get(f"{fleet.storefront}/config.js", timeout=10)
    assert f'"apiBaseUrl": "{fleet.api}"' in config.text
    origin = fleet.storefront
    preflight = requests.options(
        f"{fleet.api}/checkout",
        timeout=10,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,idempotency-key",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers.get("Access-Control-Allow-Origin") == origin
    books = requests.get(f"{fleet.api}/books", timeout=10, headers={"Origin": origin})
    assert books.headers.get("Access-Control-Allow-Origin") == origin
    stranger = requests.get(f"{fleet.api}/books", timeout=10, headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in stranger.headers
