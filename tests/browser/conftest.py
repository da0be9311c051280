"""Browser tests: Debian's Chromium driven by Playwright, against a private local fleet.

Skipped, with the reason printed in the summary, when /usr/bin/chromium or Playwright is missing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.local_fleet import RunningFleet, running_fleet

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS_ENV = "SCREENSHOTS_DIR"  # set (e.g. by scripts/screenshots.py) to keep the screens' pictures
FLEET_HEALTHY_TIMEOUT_S = 60.0
# The tests do not watch graceful shutdown; a short grace keeps the fleet's teardown to a few seconds.
FLEET_ENV = {"SHUTDOWN_GRACE_S": "0.5"}


def _missing() -> str:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found: install Debian's chromium (.ci/system-packages does it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed in this environment"
    return ""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _missing()
    if not reason:
        return
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Playwright's own browser download cannot work here: drive the system's Chromium instead.
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningFleet]:
    """Whatever services exist today, on free ports; shared by a module's tests to keep them fast."""
    with running_fleet(
        tmp_path_factory.mktemp("fleet"), extra_env=FLEET_ENV, healthy_timeout_s=FLEET_HEALTHY_TIMEOUT_S
    ) as rf:
        yield rf


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where a test saves pictures of the screens it reaches: docs/screenshots when asked, else tmp."""
    wanted = os.environ.get(SCREENSHOTS_ENV)
    folder = Path(wanted) if wanted else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
