"""The storefront page on its own (no API behind it): its pure rules, its keyboard path, and how it
degrades when the orchestrator cannot be reached (it says so and offers to retry; it never goes blank).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from testing.local_fleet import RunningFleet, running_fleet
from tests.browser.storefront import NARROW, Storefront

pytestmark = [pytest.mark.browser, pytest.mark.fleet]


@pytest.fixture(scope="module")
def page_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningFleet]:
    # Only the frontend: ORCHESTRATOR_URL points at a free port where nothing listens.
    with running_fleet(tmp_path_factory.mktemp("page-only"), only={"frontend"}) as rf:
        yield rf


@pytest.fixture
def store(browser: Any, page_only: RunningFleet) -> Iterator[Storefront]:
    store = Storefront.open(browser, f"http://127.0.0.1:{page_only.settings.frontend_port}")
    yield store
    store.close()
    assert not store.errors, f"the page raised: {store.errors}"


def test_the_server_tells_the_page_where_the_api_is(page_only: RunningFleet) -> None:
    base = f"http://127.0.0.1:{page_only.settings.frontend_port}"
    assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
    config = requests.get(f"{base}/config.js", timeout=5)
    assert config.headers["Content-Type"].startswith("text/javascript")
    assert f'"apiBaseUrl": "{page_only.settings.orchestrator_url}"' in config.text
    page = requests.get(base + "/", timeout=5)
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and page_only.settings.orchestrator_url in csp
    assert requests.get(f"{base}/static/../app.py", timeout=5).status_code == 404


CARD_RULES_JS = """async () => {
  const v = await import('/static/validation.js');
  const today = new Date(2026, 5, 15);   // 15 June 2026
  return {
    luhnGood: v.luhnValid('4111111111111111'), luhnBad: v.luhnValid('4111111111111112'),
    luhnAmex: v.luhnValid('378282246310005'),
    digits: v.cardDigits('4111 1111-1111 1111'), digitsBad: v.cardDigits('4111x'),
    thisMonth: v.expiryInFuture(v.parseExpiry('06/26'), today),
    lastMonth: v.expiryInFuture(v.parseExpiry('05/2026'), today),
    longYear: v.parseExpiry('12/2030'), badMonth: v.parseExpiry('13/30'), badShape: v.parseExpiry('1230'),
    cvv3: v.cvvValid('123'), cvv4: v.cvvValid('1234'), cvv2: v.cvvValid('12'), cvvLetters: v.cvvValid('12a'),
    qty0: v.quantityError(0), qty1: v.quantityError(1), qty100: v.quantityError(100), qty101: v.quantityError(101),
    qtyHalf: v.quantityError(1.5),
    errors: v.validateCheckout({userName: 'A', contact: 'nobody', cardNumber: '4111111111111112', expiry: '01/20',
      cvv: '1', street: 's', city: 'c', state: '', zip: 'z', country: 'EE', shippingMethod: 'teleport',
      giftWrapping: false, termsAccepted: false}, [], today),
    clean: v.validateCheckout({userName: 'A', contact: '+372 5555 5555', cardNumber: '4111 1111 1111 1111',
      expiry: '12/30', cvv: '123', street: 's', city: 'c', state: '', zip: 'z', country: 'EE',
      shippingMethod: 'express', giftWrapping: true, termsAccepted: true},
      [{bookId: 'b', title: 'B', quantity: 2}], today),
  };
}"""


def test_card_rules_in_the_page_match_the_servers(store: Storefront) -> None:
    store.goto()
    r = store.page.evaluate(CARD_RULES_JS)
    assert (r["luhnGood"], r["luhnBad"], r["luhnAmex"]) == (True, False, True)
    assert (r["digits"], r["digitsBad"]) == ("4111111111111111", None)
    assert (r["thisMonth"], r["lastMonth"]) == (True, False)  # good through the end of its month
    assert r["longYear"] == {"month": 12, "year": 2030}
    assert r["badMonth"] is None and r["badShape"] is None
    assert (r["cvv3"], r["cvv4"], r["cvv2"], r["cvvLetters"]) == (True, True, False, False)
    assert r["qty1"] == r["qty100"] == ""
    assert all(r[k] for k in ("qty0", "qty101", "qtyHalf"))
    assert set(r["errors"]) == {"contact", "cardNumber", "expiry", "cvv", "shippingMethod", "termsAccepted", "items"}
    assert "check digit" in r["errors"]["cardNumber"]
    assert r["clean"] == {}


FIELD_MAPPING_JS = """async () => {
  const f = await import('/static/field_errors.js');
  return {
    paths: ['creditCard.number', '/creditCard/cvv', 'items[0].quantity', 'user', 'body.user.name', 'nonsense']
      .map(f.fieldForPath),
    problem: f.problemFieldErrors({status: 400, detail: 'user.name: Input should be a valid string',
      errors: [{field: 'user.name', message: 'Input should be a valid string'}]}),
    detailOnly: f.problemFieldErrors({status: 400, detail: 'creditCard.expirationDate: bad'}),
    reasons: f.reasonFieldErrors(['Invalid credit card format', 'Fraud suspected: card velocity',
      'Card expired', 'Terms and conditions not accepted', 'Unknown book: Foo']),
  };
}"""


def test_server_errors_find_their_fields(store: Storefront) -> None:
    store.goto()
    r = store.page.evaluate(FIELD_MAPPING_JS)
    assert r["paths"] == ["cardNumber", "cvv", "items", "userName", "userName", None]
    assert r["problem"] == {"fields": {"userName": "Input should be a valid string"}, "general": []}
    assert r["detailOnly"]["fields"] == {"expiry": "creditCard.expirationDate: bad"}
    assert r["reasons"]["fields"] == {
        "cardNumber": "Invalid credit card format",
        "expiry": "Card expired",
        "termsAccepted": "Terms and conditions not accepted",
        "items": "Unknown book: Foo",
    }
    assert r["reasons"]["general"] == ["Fraud suspected: card velocity"]


def test_without_the_api_the_page_says_so_and_offers_a_retry(store: Storefront, screenshots: Path) -> None:
    store.goto("#/shop")
    status = store.page.locator("#catalog-status")
    store.page.wait_for_function(
        "document.querySelector('#catalog-status').textContent.includes('Cannot load')", timeout=10_000
    )
    assert "unreachable" in status.inner_text()
    assert store.page.get_by_role("button", name="Try again").is_visible()
    store.goto("#/cluster")
    store.page.wait_for_function(
        "document.querySelector('#cluster-status').textContent.includes('Cannot read')", timeout=10_000
    )
    store.screenshot(screenshots, "api-unreachable", full_page=False)


def test_a_bad_card_is_caught_in_the_page_before_anything_is_sent(store: Storefront, screenshots: Path) -> None:
    sent: list[str] = []
    store.page.on("request", lambda request: sent.append(request.url) if request.url.endswith("/checkout") else None)
    store.goto("#/checkout")
    store.fill_checkout({"cardNumber": "4111 1111 1111 1112", "cvv": "12"})
    store.place_order()
    assert "check digit" in store.field_error("cardNumber")
    assert "3 or 4 digits" in store.field_error("cvv")
    assert store.page.locator("#cardNumber").get_attribute("aria-invalid") == "true"
    assert store.field_error("userName") == ""  # good fields carry no error
    summary = store.page.locator("#form-errors")
    assert summary.is_visible() and summary.evaluate("e => e === document.activeElement")
    store.screenshot(screenshots, "checkout-errors-in-the-page")
    # The summary's link takes a keyboard user to the field; typing there clears its error.
    summary.get_by_role("link", name="Card number", exact=False).press("Enter")
    assert store.page.evaluate("document.activeElement.id") == "cardNumber"
    store.page.keyboard.type("1")
    assert store.field_error("cardNumber") == ""
    assert sent == [], "an order the page knows is bad must not be sent"


def test_keyboard_and_narrow_screen(browser: Any, page_only: RunningFleet, screenshots: Path) -> None:
    store = Storefront.open(browser, f"http://127.0.0.1:{page_only.settings.frontend_port}", viewport=NARROW)
    try:
        store.goto("#/checkout")
        store.page.keyboard.press("Tab")
        assert store.page.evaluate("document.activeElement.className") == "skip-link"
        store.page.keyboard.press("Tab")
        assert store.page.evaluate("document.activeElement.textContent.trim()") == "Distributed Bookstore"
        for route in ("#/shop", "#/checkout", "#/cluster"):
            store.goto(route)
            assert store.horizontal_overflow_px() <= 0, f"{route} scrolls sideways on a phone"
        store.goto("#/checkout")
        store.screenshot(screenshots, "phone-checkout", full_page=False)
        # Every form control has a label a screen reader can announce.
        unlabeled = store.page.evaluate("""[...document.querySelectorAll('input')]
            .filter(i => !(i.labels && i.labels.length) && !i.getAttribute('aria-label')).map(i => i.id)""")
        assert unlabeled == []
    finally:
        store.close()
