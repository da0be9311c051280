"""The Cluster tab in Chromium on a fleet that allows faults (docs/watching.md): the log strips and the election
history, the executors' leader killed from its button (down, a new term in the strips and the history, then
restarted and back), and the tab on a phone-sized screen. The 403 without the flag is in test_storefront.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from playwright.sync_api import Locator, expect

from testing.local_fleet import RunningFleet, running_fleet
from tests.browser.conftest import FLEET_ENV, FLEET_HEALTHY_TIMEOUT_S
from tests.browser.storefront import Storefront
from utils.fleet.fault_server import TOKEN_ENV, URL_ENV, FaultServer
from utils.fleet.faults import FleetFaults
from utils.fleet.launcher import Fleet

pytestmark = [pytest.mark.browser, pytest.mark.fleet]
SEEN_TIMEOUT_MS = 25_000  # an election and a poll or two, on a busy 2-core machine
REPLICAS = ["executor-1", "executor-2", "executor-3", "books-1", "books-2", "books-3"]
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def faulty_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningFleet]:
    """A fleet as `--allow-faults` starts it: the launcher's fault endpoint, its address and token in the gateway's
    environment (here everyone's: the test is the launcher). The fleet object is bound once it exists."""
    faults = FleetFaults(cast(Fleet, None), REPLICAS)
    server = FaultServer(faults)
    server.start()
    env = {**FLEET_ENV, URL_ENV: server.url, TOKEN_ENV: server.token}
    try:
        with running_fleet(
            tmp_path_factory.mktemp("faulty"), extra_env=env, healthy_timeout_s=FLEET_HEALTHY_TIMEOUT_S
        ) as rf:
            faults.fleet = rf.fleet
            yield rf
    finally:
        server.close()


def _open(browser: Any, fleet: RunningFleet, viewport: dict[str, int] | None = None) -> Storefront:
    return Storefront.open(browser, f"http://127.0.0.1:{fleet.settings.frontend_port}", viewport=viewport)  # type: ignore[arg-type]


def _group(store: Storefront, group: str) -> Locator:
    return store.page.locator(f'section[data-group="{group}"]')


def _leader(section: Locator) -> tuple[str, int]:
    row = section.locator('.log-row[data-role="leader"]')
    expect(row).to_have_count(1, timeout=SEEN_TIMEOUT_MS)
    replica = str(row.get_attribute("data-replica-id"))
    facts = row.locator(".log-facts").inner_text()
    match = re.search(r"term (\d+)", facts)
    assert match, facts
    return replica, int(match.group(1))


def test_a_leader_killed_from_its_button_shows_a_new_term_then_comes_back(
    browser: Any, faulty_fleet: RunningFleet, screenshots: Path
) -> None:
    store = _open(browser, faulty_fleet)
    try:
        store.goto("#/cluster")
        section = _group(store, "order_executor")
        expect(section.locator(".log-row")).to_have_count(3, timeout=SEEN_TIMEOUT_MS)
        leader, term = _leader(section)
        # Every live replica's strip holds the leader's term, each entry labelled with it (not colour alone).
        expect(
            section.locator(f'.log-row[data-replica-id="{leader}"] .entry[data-term="{term}"]').first
        ).to_be_visible()
        expect(section.locator(f'.elections tr[data-term="{term}"]')).to_have_count(1, timeout=SEEN_TIMEOUT_MS)
        assert section.locator(".log-row .entry.committed").count() > 0
        store.screenshot(screenshots, "cluster-logs")

        row = section.locator(f'tbody tr[data-replica-id="{leader}"]')
        row.locator('button[data-action="kill"]').click()
        expect(store.page.locator("#fault-message")).to_contain_text(f"Done: kill {leader}", timeout=10_000)
        expect(row).to_have_attribute("data-role", "unreachable", timeout=SEEN_TIMEOUT_MS)
        expect(row.locator(".fault-state")).to_have_attribute("data-fault-state", "killed", timeout=SEEN_TIMEOUT_MS)
        expect(section.locator(f'.log-row[data-replica-id="{leader}"] .log-down')).to_be_visible()
        successor, new_term = _leader_other_than(section, leader)
        assert new_term > term
        # The new term is in a survivor's strip (the new leader's no-op at least) and in the election history.
        expect(
            section.locator(f'.log-row[data-replica-id="{successor}"] .entry[data-term="{new_term}"]').first
        ).to_be_visible(timeout=SEEN_TIMEOUT_MS)
        expect(section.locator(f'.elections tr[data-term="{new_term}"]')).to_contain_text(successor)
        store.screenshot(screenshots, "cluster-faults")

        row.locator('button[data-action="restart"]').click()
        expect(row.locator(".fault-state")).to_have_attribute("data-fault-state", "running", timeout=SEEN_TIMEOUT_MS)
        expect(row).to_have_attribute("data-role", re.compile("follower|leader"), timeout=SEEN_TIMEOUT_MS)
        expect(
            section.locator(f'.log-row[data-replica-id="{leader}"] .entry[data-term="{new_term}"]').first
        ).to_be_visible(timeout=SEEN_TIMEOUT_MS)  # it caught up with the new term's entries
    finally:
        store.close()
    assert not store.errors, f"the page raised: {store.errors}"


def _leader_other_than(section: Locator, old: str) -> tuple[str, int]:
    expect(section.locator(f'.log-row[data-role="leader"]:not([data-replica-id="{old}"])')).to_have_count(
        1, timeout=SEEN_TIMEOUT_MS
    )
    row = section.locator(f'.log-row[data-role="leader"]:not([data-replica-id="{old}"])')
    match = re.search(r"term (\d+)", row.locator(".log-facts").inner_text())
    assert match
    return str(row.get_attribute("data-replica-id")), int(match.group(1))


def test_the_cluster_tab_fits_a_phone(browser: Any, faulty_fleet: RunningFleet, screenshots: Path) -> None:
    store = _open(browser, faulty_fleet, PHONE)
    try:
        store.goto("#/cluster")
        section = _group(store, "books_database")
        expect(section.locator('.log-row[data-role="leader"]')).to_have_count(1, timeout=SEEN_TIMEOUT_MS)
        # The page itself never scrolls sideways: the strips scroll inside their own box, newest at the right.
        assert store.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        strip = section.locator(".log-strip").first
        box = strip.bounding_box()
        assert box is not None and box["width"] <= PHONE["width"]
        store.page.wait_for_function(  # scrolled to the newest entry (the right end) once drawn
            "s => s.scrollWidth <= s.clientWidth || s.scrollLeft + s.clientWidth >= s.scrollWidth - 2",
            arg=strip.element_handle(),
            timeout=5_000,
        )
        entry = section.locator(".log-row .entry.committed").last
        assert re.fullmatch(r"\d+∅?", entry.locator(".t").inner_text())  # the term in words, not a hue alone
        expect(store.page.locator('button[data-action="kill"]').first).to_be_visible()
        store.screenshot(screenshots, "cluster-phone")
    finally:
        store.close()
    assert not store.errors, f"the page raised: {store.errors}"
