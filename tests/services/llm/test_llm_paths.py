"""Every path through the OpenAI SDK against the local fake server: answers, low confidence, bad JSON,
timeouts, 500, 429, no key — and no card number or CVV in any prompt.
"""
from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from fraud_detection.llm_assessor import LlmFraudAssessor, OrderFacts
from fraud_detection.llm_policy import LlmEffect
from suggestions.llm_recommender import LlmRecommender
from tests.fake_openai.server import FakeOpenAI, Mode, Script, fake_openai
from utils.catalog import load_catalog
from utils.llm.json_client import JsonChatClient
from utils.llm.settings import LlmSettings

CARD = "4111111111111111"
CVV = "737"
ORDER = {
    "items": [{"name": "Clean Architecture", "quantity": 1}],
    "user": {"name": "Ada Lovelace", "contact": "ada@example.com"},
    "creditCard": {"number": CARD, "expirationDate": "12/2030", "cvv": CVV},
    "billingAddress": {"street": "1 Main St", "city": "Tartu", "state": "", "zip": "50090", "country": "Estonia"},
    "shippingMethod": "express",
}


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with fake_openai() as fake:
        yield fake


def client_for(server: FakeOpenAI, timeout_s: float = 2.0, key: str | None = "test-key") -> JsonChatClient:
    settings = LlmSettings(openai_api_key=key, openai_base_url=server.base_url, llm_timeout_s=timeout_s, llm_retries=1)
    return JsonChatClient(settings, "test")


def assess(server: FakeOpenAI, **client_args: object) -> tuple[LlmEffect, str | None]:
    assessor = LlmFraudAssessor(client_for(server, **client_args), reject_confidence_min=0.8)  # type: ignore[arg-type]
    decision = assessor.assess(OrderFacts.from_order(ORDER, CARD))
    return decision.effect, decision.reason


def test_confident_fraud_rejects_with_the_models_reason(server: FakeOpenAI) -> None:
    server.script = Script(answer={"is_fraud": True, "confidence": 0.95, "reasons": ["card BIN from a stolen batch"]})
    effect, reason = assess(server)
    assert effect is LlmEffect.REJECT
    assert reason is not None and "stolen batch" in reason


def test_a_clean_order_is_cleared(server: FakeOpenAI) -> None:
    server.script = Script(answer={"is_fraud": False, "confidence": 0.9, "reasons": []})
    assert assess(server)[0] is LlmEffect.CLEAR


def test_low_confidence_fraud_only_flags(server: FakeOpenAI) -> None:
    server.script = Script(answer={"is_fraud": True, "confidence": 0.4, "reasons": ["odd hour"]})
    assert assess(server)[0] is LlmEffect.FLAG_ONLY


def test_invalid_json_falls_back_to_rules(server: FakeOpenAI) -> None:
    server.script = Script(mode=Mode.INVALID_JSON)
    assert assess(server)[0] is LlmEffect.FALLBACK


def test_json_of_the_wrong_shape_falls_back(server: FakeOpenAI) -> None:
    server.script = Script(answer={"fraud": "maybe"})
    assert assess(server)[0] is LlmEffect.FALLBACK


@pytest.mark.parametrize("mode", [Mode.SERVER_ERROR, Mode.RATE_LIMITED])
def test_http_errors_fall_back_after_exactly_one_retry(server: FakeOpenAI, mode: Mode) -> None:
    server.script = Script(mode=mode)
    assert assess(server)[0] is LlmEffect.FALLBACK
    assert len(server.requests) == 2  # the first try and one retry, no more


def test_a_slow_model_times_out_within_the_budget(server: FakeOpenAI) -> None:
    server.script = Script(mode=Mode.SLOW, delay_s=5.0, answer={"is_fraud": False, "confidence": 1, "reasons": []})
    started = time.monotonic()
    effect, _ = assess(server, timeout_s=0.3)
    elapsed_s = time.monotonic() - started
    assert effect is LlmEffect.FALLBACK
    # one try + one retry of 0.3 s each, plus the SDK's short retry backoff; far below the 5 s answer
    assert elapsed_s < 2.5


def test_no_key_means_off_and_no_request(server: FakeOpenAI) -> None:
    effect, _ = assess(server, key=None)
    assert effect is LlmEffect.FALLBACK
    assert server.requests == []


def test_no_card_number_or_cvv_reaches_any_prompt(server: FakeOpenAI) -> None:
    server.script = Script(answer={"is_fraud": False, "confidence": 0.9, "reasons": []})
    assess(server)
    prompts = "\n".join(server.prompts())
    assert prompts, "the model was asked nothing"
    assert CARD not in prompts and CVV not in prompts
    assert "411111" in prompts and "1111" in prompts  # at most the first six and last four


def test_suggestions_keep_only_real_books_not_in_the_cart_and_fill_to_three(server: FakeOpenAI) -> None:
    catalog = load_catalog()
    cart = [catalog.by_title("Clean Architecture")]
    server.script = Script(answer={"titles": ["Clean Architecture", "A Book That Does Not Exist", "Refactoring"]})
    fallback = [catalog.by_title("Clean Code"), catalog.by_title("Refactoring"), catalog.by_title("Code Complete")]
    picks = LlmRecommender(client_for(server), catalog).suggest(
        [b for b in cart if b], [b for b in fallback if b])
    assert [b.title for b in picks] == ["Refactoring", "Clean Code", "Code Complete"]


def test_suggestions_fall_back_to_the_catalog_when_the_model_fails(server: FakeOpenAI) -> None:
    catalog = load_catalog()
    server.script = Script(mode=Mode.SERVER_ERROR)
    fallback = list(catalog.books[:3])
    assert LlmRecommender(client_for(server), catalog).suggest([], fallback) == fallback
