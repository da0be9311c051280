"""Checkouts through the real validation services with the LLM on, served by the local fake OpenAI server.

A slow model costs a checkout at most the LLM budget; a confident fraud verdict rejects with its reason.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from testing.local_fleet import RunningFleet, running_fleet
from tests.fake_openai.server import FakeOpenAI, Mode, Script, fake_openai

pytestmark = pytest.mark.fleet
LLM_TIMEOUT_S = 1.0
ORDER = {
    "items": [{"name": "Clean Architecture", "quantity": 1}],
    "user": {"name": "Ada Lovelace", "contact": "ada@example.com"},
    "creditCard": {"number": "4111111111111111", "expirationDate": "12/2030", "cvv": "123"},
    "billingAddress": {"street": "1 Main St", "city": "Tartu", "state": "", "zip": "50090", "country": "Estonia"},
    "shippingMethod": "standard",
    "giftWrapping": False,
    "termsAndConditionsAccepted": True,
}
VALIDATION = {
    "orchestrator",
    "transaction_verification",
    "fraud_detection",
    "suggestions",
    "order_queue",
    "payment_service",
    "books_database",
}


@pytest.fixture(scope="module")
def model() -> Iterator[FakeOpenAI]:
    with fake_openai() as fake:
        yield fake


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, model: FakeOpenAI) -> Iterator[RunningFleet]:
    env = {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": model.base_url, "LLM_TIMEOUT_S": str(LLM_TIMEOUT_S)}
    with running_fleet(Path(tmp_path_factory.mktemp("llm")), only=VALIDATION, extra_env=env) as rf:
        yield rf


def checkout(fleet: RunningFleet) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    reply = requests.post(f"{fleet.api}/checkout", json=ORDER, timeout=15)
    assert reply.status_code == 200, reply.text
    return reply.json(), time.monotonic() - started


def test_the_models_suggestions_are_used_and_no_card_reaches_it(fleet: RunningFleet, model: FakeOpenAI) -> None:
    model.script = Script(
        answer={"titles": ["Peopleware", "Not A Real Book"], "is_fraud": False, "confidence": 0.9, "reasons": []}
    )
    body, _ = checkout(fleet)
    assert body["status"] == "Order Approved", body
    titles = [b["title"] for b in body["suggestedBooks"]]
    assert titles[0] == "Peopleware" and len(titles) == 3 and "Not A Real Book" not in titles
    prompts = "\n".join(model.prompts())
    assert "4111111111111111" not in prompts and '"123"' not in prompts


def test_confident_fraud_from_the_model_rejects_with_its_reason(fleet: RunningFleet, model: FakeOpenAI) -> None:
    model.script = Script(
        answer={"is_fraud": True, "confidence": 0.97, "reasons": ["mule account pattern"], "titles": []}
    )
    body, _ = checkout(fleet)
    assert body["status"] == "Order Rejected"
    assert "mule account pattern" in str(body["message"]) + str(body["reasons"])


def test_a_slow_model_slows_a_checkout_by_at_most_its_budget(fleet: RunningFleet, model: FakeOpenAI) -> None:
    model.script = Script(mode=Mode.SLOW, delay_s=10.0, answer={})
    body, elapsed_s = checkout(fleet)
    assert body["status"] == "Order Approved", body  # the rules and the catalog decided
    assert len(body["suggestedBooks"]) == 3
    # Both services' calls run concurrently (suggestions prefetch at init), so one budget, not two,
    # plus the normal latency (generous for a loaded CI machine): far from the model's 10 s.
    assert elapsed_s < LLM_TIMEOUT_S + 2.5
