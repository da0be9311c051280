"""Idempotency-Key with Stripe's semantics (docs/design.md §7): replay of the first response, 422 for the same key
with a different body, 409 while the first request runs; the store's bounds, expiry and durability.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from orchestrator.idempotency import Decision, IdempotencyStore, StoredResponse, decide
from testing.orders import seed_order
from tests.services.orchestrator.conftest import Gateway


def _post(gateway: Gateway, body: dict[str, Any], key: str) -> Any:
    return gateway.client.post("/checkout", data=json.dumps(body), headers={"Idempotency-Key": key})


def test_a_retry_with_the_same_key_replays_the_first_response_and_places_one_order(gateway: Gateway) -> None:
    first = _post(gateway, seed_order(), "key-1")
    again = _post(gateway, seed_order(), "key-1")
    assert first.status_code == again.status_code == 200
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert len(gateway.flow.validated) == 1 and len(gateway.queue.records) == 1


def test_the_same_body_with_members_in_another_order_is_the_same_request(gateway: Gateway) -> None:
    order = seed_order()
    reordered = dict(reversed(list(order.items())))
    first = _post(gateway, order, "key-1")
    assert _post(gateway, reordered, "key-1").get_json()["orderId"] == first.get_json()["orderId"]


def test_the_same_key_with_a_different_body_is_422(gateway: Gateway) -> None:
    _post(gateway, seed_order(), "key-1")
    response = _post(gateway, seed_order(giftWrapping=True), "key-1")
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert len(gateway.flow.validated) == 1


def test_a_retry_while_the_first_request_runs_is_409(gateway: Gateway) -> None:
    gateway.flow.gate = threading.Event()
    results: dict[str, Any] = {}
    first = threading.Thread(target=lambda: results.setdefault("first", _post(gateway, seed_order(), "key-1")))
    first.start()
    assert gateway.flow.entered.wait(5)
    try:
        concurrent = _post(gateway, seed_order(), "key-1")
        assert concurrent.status_code == 409
        assert concurrent.get_json()["error"]["code"] == "IDEMPOTENCY_KEY_IN_USE"
        assert concurrent.headers["Retry-After"]
    finally:
        gateway.flow.gate.set()
        first.join(10)
    assert results["first"].status_code == 200
    assert _post(gateway, seed_order(), "key-1").get_json() == results["first"].get_json()


def test_a_failed_first_attempt_frees_the_key_for_a_real_retry(gateway: Gateway) -> None:
    gateway.flow.down = "suggestions"
    assert _post(gateway, seed_order(), "key-1").status_code == 503
    gateway.flow.down = None
    retry = _post(gateway, seed_order(), "key-1")
    assert retry.status_code == 200 and "Idempotent-Replayed" not in retry.headers


def test_a_rejected_order_is_replayed_too(gateway: Gateway) -> None:
    first = _post(gateway, seed_order(termsAndConditionsAccepted=False), "key-r")
    assert _post(gateway, seed_order(termsAndConditionsAccepted=False), "key-r").get_json() == first.get_json()


def test_bad_input_is_not_stored_under_the_key(gateway: Gateway) -> None:
    assert _post(gateway, seed_order(giftWrapping="x"), "key-1").status_code == 400
    assert _post(gateway, seed_order(), "key-1").status_code == 200


def test_an_unusable_key_is_400(gateway: Gateway) -> None:
    response = _post(gateway, seed_order(), "k" * 300)
    assert response.status_code == 400 and "Idempotency-Key" in response.get_json()["detail"]


def test_the_rule_on_its_own() -> None:
    stored = StoredResponse("fp-a", 200, b"{}", 0.0)
    assert decide(None, None, "fp-a").decision is Decision.PROCEED
    assert decide(stored, None, "fp-a").decision is Decision.REPLAY
    assert decide(stored, None, "fp-b").decision is Decision.MISMATCH
    assert decide(None, "fp-a", "fp-a").decision is Decision.IN_FLIGHT
    assert decide(None, "fp-a", "fp-b").decision is Decision.MISMATCH


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_stored_responses_survive_a_restart_and_expire_after_the_ttl(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "idempotency.sqlite3"
    store = IdempotencyStore(path, keys_max=10, ttl_s=60, clock=clock)
    fingerprint = store.fingerprint("POST", "/checkout", {"a": 1})
    assert store.begin("k", fingerprint).decision is Decision.PROCEED
    store.complete("k", fingerprint, 200, b'{"orderId": "o1"}')
    store.close()

    reopened = IdempotencyStore(path, keys_max=10, ttl_s=60, clock=clock)
    assert reopened.fingerprint("POST", "/checkout", {"a": 1}) == fingerprint  # the secret is kept on disk
    replay = reopened.begin("k", fingerprint)
    assert replay.decision is Decision.REPLAY and replay.response is not None
    assert replay.response.body == b'{"orderId": "o1"}'
    clock.now += 60
    assert reopened.begin("k", fingerprint).decision is Decision.PROCEED
    assert (path.with_suffix(".secret").stat().st_mode & 0o777) == 0o600


def test_the_store_keeps_at_most_keys_max_responses_oldest_forgotten_first() -> None:
    clock = Clock()
    store = IdempotencyStore(None, keys_max=10, ttl_s=3600, clock=clock)
    for i in range(200):
        clock.now += 1
        fingerprint = store.fingerprint("POST", "/checkout", {"i": i})
        store.begin(f"k{i}", fingerprint)
        store.complete(f"k{i}", fingerprint, 200, b"{}")
    assert store.stored_keys() <= 10 + 100  # pruned every 100 completions
    assert store.begin("k0", store.fingerprint("POST", "/checkout", {"i": 0})).decision is Decision.PROCEED
    assert store.begin("k199", store.fingerprint("POST", "/checkout", {"i": 199})).decision is Decision.REPLAY


def test_the_fingerprint_is_not_a_plain_hash_of_the_body() -> None:
    """Bodies hold card numbers: the stored fingerprint must not be recomputable without the secret."""
    a, b = IdempotencyStore(None, 10, 60), IdempotencyStore(None, 10, 60)
    body = {"creditCard": {"number": "4111111111111111"}}
    assert a.fingerprint("POST", "/checkout", body) != b.fingerprint("POST", "/checkout", body)
