"""The order page's drawings in a real browser against the local fleet (docs/drawings.md): the validation flow's
space-time diagram (six events placed in happened-before order by their vector clocks; a rejected order stopping
at its failing event), the two-phase commit's timeline (a commit's votes, decision and acks; an abort's NO vote),
and both on a phone-sized screen.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from testing.local_fleet import RunningFleet
from testing.orders import broken_card, checkout_body
from tests.browser.storefront import Storefront
from utils.catalog.file import load_catalog
from utils.flow.core.vclock import VectorClock

pytestmark = [pytest.mark.browser, pytest.mark.fleet]

ORDER_FINAL_TIMEOUT_MS = 30_000
DRAWN_TIMEOUT_MS = 10_000
PHONE = {"width": 375, "height": 812}
COMMITTED_BOOK = ("book_105_clean_architecture", "Clean Architecture")
LOW_STOCK_BOOK = "book_127_art_of_computer_programming"
TV = "transaction_verification"


@pytest.fixture
def store(browser: Any, fleet: RunningFleet) -> Iterator[Storefront]:
    store = Storefront.open(browser, f"http://127.0.0.1:{fleet.settings.frontend_port}")
    yield store
    store.close()
    assert not store.errors, f"the page raised: {store.errors}"


def _post_checkout(fleet: RunningFleet, body: dict[str, Any]) -> dict[str, Any]:
    reply = requests.post(f"{fleet.api}/checkout", json=body, timeout=30)
    assert reply.status_code == 200, reply.text
    answer: dict[str, Any] = reply.json()
    return answer


def _events(store: Storefront) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = store.page.locator("#spacetime g.event").evaluate_all(
        """gs => gs.map(g => ({service: g.dataset.service, event: g.dataset.event, letter: g.dataset.letter || "",
              clock: JSON.parse(g.dataset.clock), y: Number(g.dataset.y), kind: g.getAttribute("class")}))"""
    )
    return events


def _assert_drawn_in_causal_order(events: list[dict[str, Any]]) -> None:
    """Every event that happened before another (by the clocks the drawing shows) is drawn above it."""
    for x in events:
        for y in events:
            if VectorClock.of(x["clock"]) < VectorClock.of(y["clock"]):
                assert x["y"] < y["y"], (
                    f"{x['event']}@{x['service']} {x['clock']} is not above {y['event']} {y['clock']}"
                )


def _arrows(store: Storefront) -> set[tuple[str, str]]:
    pairs: list[list[str]] = store.page.locator("#spacetime line.message").evaluate_all(
        "ls => ls.map(l => [l.dataset.from, l.dataset.to])"
    )
    return {(a, b) for a, b in pairs}


def _steps(store: Storefront) -> list[dict[str, str | None]]:
    steps: list[dict[str, str | None]] = store.page.locator("#twopc-svg g.step").evaluate_all(
        """gs => gs.map(g => ({kind: g.dataset.kind, participant: g.dataset.participant ?? null,
              ok: g.dataset.ok, term: g.dataset.term ?? null, index: g.dataset.index ?? null,
              text: g.querySelector("title").textContent}))"""
    )
    return steps


def test_a_committed_order_draws_six_causally_ordered_events_and_its_two_phase_commit(
    store: Storefront, screenshots: Path
) -> None:
    _, title = COMMITTED_BOOK
    store.goto("#/shop")
    store.wait_catalog()
    store.add_to_cart(title)
    store.goto("#/checkout")
    store.fill_checkout()
    store.place_order()
    assert store.wait_order_state({"COMMITTED", "ABORTED"}, ORDER_FINAL_TIMEOUT_MS) == "COMMITTED"

    expect(store.page.locator("#spacetime")).to_be_visible(timeout=DRAWN_TIMEOUT_MS)
    events = _events(store)
    flow = [e for e in events if e["letter"]]
    assert sorted(e["letter"] for e in flow) == list("abcdef")
    assert all("failed" not in e["kind"] for e in events)
    _assert_drawn_in_causal_order(events)
    by_letter = {e["letter"]: e for e in flow}
    assert by_letter["a"]["y"] < by_letter["c"]["y"] < by_letter["e"]["y"] < by_letter["f"]["y"]
    assert by_letter["b"]["y"] < by_letter["d"]["y"] < by_letter["e"]["y"]
    arrows = _arrows(store)
    assert (f"{TV}/VerifyUserData", "fraud_detection/CheckUserData") in arrows  # b → d
    assert (f"{TV}/VerifyCreditCardFormat", "fraud_detection/CheckCreditCardData") in arrows  # c → e
    assert ("fraud_detection/CheckCreditCardData", "suggestions/GetSuggestions") in arrows  # e → f
    assert ("suggestions/GetSuggestions", "orchestrator/Outcome") in arrows  # the report

    expect(store.page.locator("#twopc-decision")).to_contain_text("COMMIT", timeout=DRAWN_TIMEOUT_MS)
    steps = _steps(store)
    votes = [s for s in steps if s["kind"] == "vote"]
    assert {s["participant"] for s in votes} == {"books_database", "payment_service"}
    assert all(s["ok"] == "true" for s in votes)
    decision = next(s for s in steps if s["kind"] == "decision_logged")
    assert decision["term"] and decision["index"] and int(decision["index"]) > 0
    assert f"index {decision['index']}, term {decision['term']}" in (decision["text"] or "")
    acks = {s["participant"] for s in steps if s["kind"] == "ack" and s["ok"] == "true"}
    assert acks == {"books_database", "payment_service"}
    kinds = [s["kind"] for s in steps]
    assert kinds.index("decision_logged") > max(i for i, k in enumerate(kinds) if k == "vote")
    assert kinds.index("decision_logged") < min(i for i, k in enumerate(kinds) if k == "phase2_sent")
    store.page.locator("#flow-diagram").scroll_into_view_if_needed()
    store.screenshot(screenshots, "order-drawings-committed")

    # Phone-sized: both drawings fit the width, nothing scrolls sideways, and the labels are there in words.
    phone = Storefront.open(store.page.context.browser, store.base_url, viewport=PHONE)  # type: ignore[arg-type]
    try:
        phone.goto(f"#/orders/{store.order_id()}")
        expect(phone.page.locator("#twopc-svg")).to_be_visible(timeout=DRAWN_TIMEOUT_MS)
        assert phone.horizontal_overflow_px() <= 0
        for selector in ("#spacetime", "#twopc-svg"):
            box = phone.page.locator(selector).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        expect(phone.page.locator("#spacetime")).to_contain_text("a items")
        expect(phone.page.locator("#twopc-svg")).to_contain_text("Prepare")
        phone.screenshot(screenshots, "order-drawings-phone")
        assert not phone.errors, phone.errors
    finally:
        phone.close()


def test_a_rejected_order_stops_at_the_failing_event_with_its_reason(
    store: Storefront, fleet: RunningFleet, screenshots: Path
) -> None:
    body = checkout_body([(COMMITTED_BOOK[0], 1)], card=broken_card("4111111111111111"))
    answer = _post_checkout(fleet, body)
    assert answer["status"] == "Order Rejected"
    store.goto(f"#/orders/{answer['orderId']}")
    assert store.wait_order_state({"REJECTED"}, ORDER_FINAL_TIMEOUT_MS) == "REJECTED"
    expect(store.page.locator("#failing-event")).to_contain_text("VerifyCreditCardFormat", timeout=DRAWN_TIMEOUT_MS)
    expect(store.page.locator("#failing-event")).to_contain_text(answer["reasons"][0])
    events = _events(store)
    _assert_drawn_in_causal_order(events)
    failed = [e for e in events if "failed" in e["kind"]]
    assert [(e["letter"], e["service"]) for e in failed] == [("c", TV)]
    # The flow stops there: nothing after the failing event but the gateway receiving the outcome.
    assert not {"e", "f"} & {e["letter"] for e in events}
    later = [e for e in events if VectorClock.of(failed[0]["clock"]) < VectorClock.of(e["clock"])]
    assert later == []
    assert (f"{TV}/VerifyCreditCardFormat", "orchestrator/Outcome") in _arrows(store)
    expect(store.page.locator("#twopc-none")).to_contain_text("no two-phase commit")
    store.page.locator("#flow-diagram").scroll_into_view_if_needed()
    store.screenshot(screenshots, "order-drawings-rejected")


def test_an_aborted_orders_timeline_shows_the_no_vote_with_its_reason(
    store: Storefront, fleet: RunningFleet, screenshots: Path
) -> None:
    book = load_catalog().by_id(LOW_STOCK_BOOK)
    assert book is not None
    answer = _post_checkout(fleet, checkout_body([(LOW_STOCK_BOOK, book.initial_stock + 1)]))
    assert answer["status"] == "Order Approved"
    store.goto(f"#/orders/{answer['orderId']}")
    assert store.wait_order_state({"COMMITTED", "ABORTED"}, ORDER_FINAL_TIMEOUT_MS) == "ABORTED"
    expect(store.page.locator("#twopc-decision")).to_contain_text("ABORT", timeout=DRAWN_TIMEOUT_MS)
    no = [s for s in _steps(store) if s["kind"] == "vote" and s["ok"] == "false"]
    assert [s["participant"] for s in no] == ["books_database"]
    reason = requests.get(f"{fleet.api}/orders/{answer['orderId']}", timeout=5).json()["reason"]
    assert reason and reason in (no[0]["text"] or "")
    expect(store.page.locator("#twopc-no-vote")).to_contain_text(reason)
    store.page.locator("#twopc-timeline").scroll_into_view_if_needed()
    store.screenshot(screenshots, "order-drawings-aborted")
