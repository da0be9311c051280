"""The storefront page as the tests drive it: open a screen, fill the checkout, read the live views.

Used by the browser tests and by scripts/screenshots.py; every wait has a deadline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, ViewportSize, expect

PAGE_READY_TIMEOUT_MS = 10_000
WIDE: ViewportSize = {"width": 1280, "height": 900}
NARROW: ViewportSize = {"width": 390, "height": 844}  # a phone held upright

GOOD_BUYER: dict[str, str] = {
    "userName": "Ada Lovelace",
    "contact": "ada@example.com",
    "cardNumber": "4111 1111 1111 1111",
    "expiry": "12/2030",
    "cvv": "123",
    "street": "1 Main St",
    "city": "Tartu",
    "state": "Tartumaa",
    "zip": "50090",
    "country": "Estonia",
}


@dataclass
class Storefront:
    """One browser page on the storefront, with the errors its scripts raised."""

    page: Page
    base_url: str
    errors: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, browser: Browser, base_url: str, viewport: ViewportSize | None = None) -> Storefront:
        context = browser.new_context(viewport=viewport or WIDE)
        page = context.new_page()
        store = cls(page, base_url.rstrip("/"))
        page.on("pageerror", lambda error: store.errors.append(str(error)))
        return store

    def close(self) -> None:
        self.page.context.close()

    def goto(self, route: str = "#/shop") -> None:
        self.page.goto(f"{self.base_url}/{route}")
        self.page.wait_for_selector("html[data-ready=true]", timeout=PAGE_READY_TIMEOUT_MS)

    def screenshot(self, folder: Path, name: str, full_page: bool = True) -> Path:
        path = folder / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    # --- catalog and cart ---
    def wait_catalog(self, timeout_ms: int = 15_000) -> None:
        expect(self.page.locator(".book-card").first).to_be_visible(timeout=timeout_ms)

    def stock_of(self, book_id: str) -> int | None:
        text = self.page.locator(f'.book-card[data-book-id="{book_id}"] .stock').get_attribute("data-stock")
        return int(text) if text else None

    def add_to_cart(self, title: str, times: int = 1) -> None:
        button = self.page.get_by_role("button", name=f"Add {title} to the cart", exact=True).first
        for _ in range(times):
            button.click()

    def set_quantity(self, title: str, quantity: int) -> None:
        self.page.get_by_label(f"Quantity of {title}", exact=True).fill(str(quantity))

    def cart_count(self) -> int:
        return int(self.page.locator("#cart-count").inner_text())

    # --- checkout ---
    def fill_checkout(
        self,
        values: dict[str, Any] | None = None,
        shipping: str = "standard",
        gift_wrap: bool = False,
        accept_terms: bool = True,
    ) -> None:
        for field_id, value in {**GOOD_BUYER, **(values or {})}.items():
            self.page.locator(f"#{field_id}").fill(str(value))
        self.page.locator(f'input[name="shippingMethod"][value="{shipping}"]').check()
        self.page.locator("#giftWrapping").set_checked(gift_wrap)
        self.page.locator("#termsAccepted").set_checked(accept_terms)

    def set_browser_checks(self, on: bool) -> None:
        details = self.page.locator("details.dev-options")
        if not details.evaluate("d => d.open"):
            details.locator("summary").click()
        self.page.locator("#browserChecks").set_checked(on)

    def place_order(self) -> None:
        self.page.get_by_role("button", name="Place order").click()

    def field_error(self, field_id: str) -> str:
        return self.page.locator(f"#{field_id}-error").inner_text()

    # --- one order ---
    def wait_order_state(self, states: set[str], timeout_ms: int) -> str:
        """Waits until the live order view shows one of `states`; returns it."""
        locator = self.page.locator("#order-state")
        pattern = re.compile("^(" + "|".join(sorted(states)) + ")$")
        expect(locator).to_have_attribute("data-state", pattern, timeout=timeout_ms)
        return str(locator.get_attribute("data-state"))

    def order_id(self) -> str:
        return self.page.locator("#order-id").inner_text()

    # --- cluster ---
    def cluster_rows(self, group: str) -> list[dict[str, str]]:
        rows: list[dict[str, str]] = self.page.locator(f'section[data-group="{group}"] tbody tr').evaluate_all(
            "rows => rows.map(r => ({id: r.dataset.replicaId, role: r.dataset.role}))"
        )
        return rows

    def horizontal_overflow_px(self) -> int:
        return int(self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))
