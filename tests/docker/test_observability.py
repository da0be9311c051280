"""`--profile observability`: Prometheus, built offline from Debian's package, scrapes every service of the
fleet (its targets API shows each one up). Runs only where the Prometheus base image was built already
(docker/build-base-image.sh bookstore-prometheus-base:bookworm prometheus, ~1 min): CI does not build it.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.docker.compose_fleet import SERVICES, ComposeFleet
from tests.docker.conftest import image_exists

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]
PROMETHEUS_BASE = "bookstore-prometheus-base:bookworm"
TARGETS_TIMEOUT_S = 90.0
# Every gRPC service on its metrics port, and the gateway on its HTTP port (the storefront serves files only).
EXPECTED = {f"{s}:9100" for s in SERVICES if s not in ("orchestrator", "frontend")} | {"orchestrator:8081"}


def targets(fleet: ComposeFleet) -> dict[str, Any]:
    reply = requests.get(f"{fleet.prometheus}/api/v1/targets", timeout=10)
    reply.raise_for_status()
    return {t["labels"]["instance"]: t for t in reply.json()["data"]["activeTargets"]}


def test_prometheus_scrapes_every_service(fleet: ComposeFleet) -> None:
    if not image_exists(PROMETHEUS_BASE):
        pytest.skip(f"{PROMETHEUS_BASE} is not built (docker/build-base-image.sh {PROMETHEUS_BASE} prometheus)")
    fleet.compose("--profile", "observability", "up", "-d", "--build", "prometheus", timeout_s=300.0)
    deadline = time.monotonic() + TARGETS_TIMEOUT_S
    seen: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            seen = targets(fleet)
        except requests.RequestException:
            seen = {}
        if EXPECTED <= {i for i, t in seen.items() if t["health"] == "up"}:
            break
        time.sleep(1.0)
    down = {i: (t["health"], t.get("lastError", "")) for i, t in seen.items() if t["health"] != "up"}
    assert EXPECTED <= set(seen), f"targets missing: {sorted(EXPECTED - set(seen))}"
    assert not down, f"targets not up within {TARGETS_TIMEOUT_S:.0f} s: {down}"
    # And it holds the services' own series, not only its scrape bookkeeping: every gRPC server counts the
    # calls it served (the health probes at least).
    query = requests.get(
        f"{fleet.prometheus}/api/v1/query",
        timeout=10,
        params={"query": 'count by (instance) ({job="services", __name__=~"rpc_server_calls.*"})'},
    ).json()
    instances = {r["metric"]["instance"] for r in query["data"]["result"]}
    assert instances == EXPECTED - {"orchestrator:8081"}
