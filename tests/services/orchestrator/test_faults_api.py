"""The Cluster tab's fault buttons through the gateway (docs/watching.md): refused with 403 and the reason unless the
launcher handed over its fault endpoint; with it, kill → killed → restart → running, a pause that ends by itself, a
bounded N, unknown replicas, a wrong token refused by the launcher, and a launcher that does not answer."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from orchestrator.views.faults import OFF_REASON, FaultLink, install
from testing.local_fleet import free_port
from tests.services.orchestrator.conftest import Gateway
from tests.services.orchestrator.fault_fakes import fault_control, state_of
from utils.fleet.faults import SECONDS_MAX

pytestmark = pytest.mark.timeout(60)


def test_without_the_launchers_flag_every_fault_is_refused_with_the_reason(gateway: Gateway) -> None:
    assert gateway.client.get("/faults").get_json()["enabled"] is False
    refused = gateway.client.post("/faults/books-1/kill")
    assert refused.status_code == 403
    assert refused.get_json()["detail"] == OFF_REASON and "--allow-faults" in OFF_REASON


def test_kill_then_restart_and_a_pause_that_ends_by_itself(gateway: Gateway) -> None:
    with fault_control(gateway.app) as (_server, fleet):
        assert gateway.client.get("/faults").get_json()["enabled"] is True
        killed = gateway.client.post("/faults/books-2/kill")
        assert killed.status_code == 200 and state_of(killed, "books-2") == "killed"
        assert fleet.processes["books-2"].poll() is not None
        assert gateway.client.post("/faults/books-2/pause", json={"seconds": 5}).status_code == 409  # not running
        restarted = gateway.client.post("/faults/books-2/restart")
        assert state_of(restarted, "books-2") == "running" and fleet.processes["books-2"].poll() is None
        paused = gateway.client.post("/faults/books-1/pause", json={"seconds": 1})
        assert state_of(paused, "books-1") == "paused" and paused.get_json()["replicas"]["books-1"]["until"]
        assert gateway.client.post("/faults/books-1/pause", json={"seconds": 1}).status_code == 409  # already
        deadline = time.monotonic() + 10
        while state_of(gateway.client.get("/faults"), "books-1") != "running":
            assert time.monotonic() < deadline, "the pause did not end by itself"
            time.sleep(0.05)


def test_bad_requests_are_named(gateway: Gateway) -> None:
    with fault_control(gateway.app):
        too_long = gateway.client.post("/faults/books-1/pause", json={"seconds": SECONDS_MAX + 1})
        assert too_long.status_code == 400 and "seconds" in too_long.get_json()["detail"]
        assert gateway.client.post("/faults/books-1/pause", json={"seconds": "5"}).status_code == 400
        assert gateway.client.post("/faults/books-9/kill").status_code == 404
        assert gateway.client.post("/faults/books-1/explode").status_code == 404


def test_the_launcher_refuses_a_caller_without_its_token() -> None:
    with fault_control() as (server, fleet):
        forged = urllib.request.Request(f"{server.url}/faults/books-1/kill", data=b"{}", method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(forged, timeout=5)
        refused.value.close()
        assert refused.value.code == 401 and fleet.processes["books-1"].poll() is None
        good = urllib.request.Request(f"{server.url}/faults", headers={"Authorization": f"Bearer {server.token}"})
        with urllib.request.urlopen(good, timeout=5) as answer:
            assert json.loads(answer.read())["replicas"]["books-1"]["state"] == "running"


def test_a_launcher_that_does_not_answer_is_503(gateway: Gateway) -> None:
    install(gateway.app, FaultLink(f"http://127.0.0.1:{free_port()}", "token"))
    assert gateway.client.get("/faults").status_code == 503
    assert gateway.client.post("/faults/books-1/kill").status_code == 503


def test_only_a_loopback_endpoint_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEET_FAULTS_URL", "http://10.0.0.1:9")
    monkeypatch.setenv("FLEET_FAULTS_TOKEN", "t")
    with pytest.raises(ValueError):
        FaultLink.from_environment()
    monkeypatch.delenv("FLEET_FAULTS_URL")
    assert FaultLink.from_environment() is None
