"""Every path through the OpenAI SDK against the local fake server: answers, low confidence, bad JSON,
timeouts, 500, 429, no key — and no card number or CVV in any prompt.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
from pydantic import SecretStr

from fraud_detection.core.assessor import AssessedItem, FraudView
from fraud_detection.llm_assessor import LlmFraudAssessor
from suggestions.core.recommender import CatalogRecommender
from suggestions.llm_recommender import LlmRecommender
from tests.fake_openai.server import FakeOpenAI, Mode, Script, fake_openai
from utils.catalog.file import load_catalog
from utils.llm.json_client import JsonChatClient
from utils.llm.settings import LlmSettings

CARD = "4111111111111111"
CVV = "737"


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with fake_openai() as fake:
        yield fake


def client_for(server: FakeOpenAI, timeout_s: float = 2.0, key: str | None = "test-key") -> JsonChatClient:
    settings = LlmSettings(
        openai_api_key=SecretStr(key) if key is not None else None,
        openai_base_url=server.base_url,
        llm_timeout_s=timeout_s,
        llm_retries=1,
    )
    return JsonChatClient(settings, "test")


VIEW = FraudView(
    items=(AssessedItem("Clean Architecture", 1, Decimal("32.99")),),
    total=Decimal("32.99"),
    email_domain="example.com",
    billing_country="Estonia",
    shipping_method="express",
    card_last4=CARD[-4:],
    card_uses_in_window=1,
)


class Effect:
    REJECT, FLAG_ONLY, CLEAR, FALLBACK = "reject", "flag_only", "clear", "fallback"


def assess(server: FakeOpenAI, **client_args: object) -> tuple[str, str | None]:
    """What the assessor decided, named as in llm_policy: reject / clear (flagged or not) / fallback."""
    assessor = LlmFraudAssessor(client_for(server, **client_args), reject_confidence_min=0.8)  # type: ignore[arg-type]
    assessment = assessor.assess(VIEW)
    if assessment.fraudulent:
        return Effect.REJECT, assessment.reason
    if assessment.source == "rules":
        return Effect.FALLBACK, None
    return (Effect.CLEAR if assessment.confidence >= 0.5 else Effect.FLAG_ONLY), None


def test_confident_fraud_rejects_with_the_models_reason(server: FakeOpenAI) -> None:
    server.script = Script(answer={"is_fraud": True, "confidence": 0.95, "reasons": ["card BIN from a stolen batch"]})
    effect, reason = assess(server)
    assert effect == Effect.REJECT
    assert reason is not None and "stolen batch" in reason


def test_a_clean_order_is_cleared(server: FakeOpenAI) -> None:
    server.script = Script(answer={"is_fraud": False, "confidence": 0.9, "reasons": []})
    assert assess(server)[0] == Effect.CLEAR


def test_low_confidence_fraud_only_flags_and_approves(server: FakeOpenAI, caplog: pytest.LogCaptureFixture) -> None:
    server.script = Script(answer={"is_fraud": True, "confidence": 0.4, "reasons": ["odd hour"]})
    caplog.set_level("INFO")
    effect, _ = assess(server)
    assert effect in (Effect.CLEAR, Effect.FLAG_ONLY)  # approved either way
    assert any("low confidence" in r.getMessage() for r in caplog.records)


def test_invalid_json_falls_back_to_rules(server: FakeOpenAI) -> None:
    server.script = Script(mode=Mode.INVALID_JSON)
    assert assess(server)[0] == Effect.FALLBACK


def test_json_of_the_wrong_shape_falls_back(server: FakeOpenAI) -> None:
    server.script = Script(answer={"fraud": "maybe"})
    assert assess(server)[0] == Effect.FALLBACK


@pytest.mark.parametrize("mode", [Mode.SERVER_ERROR, Mode.RATE_LIMITED])
def test_http_errors_fall_back_after_exactly_one_retry(server: FakeOpenAI, mode: Mode) -> None:
    server.script = Script(mode=mode)
    assert assess(server)[0] == Effect.FALLBACK
    assert len(server.requests) == 2  # the first try and one retry, no more


def test_a_slow_model_times_out_within_the_budget(server: FakeOpenAI) -> None:
    server.script = Script(mode=Mode.SLOW, delay_s=5.0, answer={"is_fraud": False, "confidence": 1, "reasons": []})
    started = time.monotonic()
    effect, _ = assess(server, timeout_s=0.3)
    elapsed_s = time.monotonic() - started
    assert effect == Effect.FALLBACK
    # the whole call, its retry included, keeps within the one 0.3 s budget: it gives up long before
    # the 5 s answer (a generous margin for a loaded CI machine; bench figures live elsewhere)
    assert elapsed_s < 3.0
    assert len(server.requests) == 1  # a timeout spends the budget: no retry after it


def test_no_key_means_off_and_no_request(server: FakeOpenAI) -> None:
    effect, _ = assess(server, key=None)
    assert effect == Effect.FALLBACK
    assert server.requests == []


def test_no_card_number_or_cvv_reaches_any_prompt(server: FakeOpenAI) -> None:
    server.script = Script(answer={"is_fraud": False, "confidence": 0.9, "reasons": []})
    assess(server)
    prompts = "\n".join(server.prompts())
    assert prompts, "the model was asked nothing"
    assert CARD not in prompts and CVV not in prompts
    assert CARD[-4:] in prompts  # the last four at most


def test_suggestions_keep_only_real_books_not_in_the_cart_and_fill_to_three(server: FakeOpenAI) -> None:
    catalog = load_catalog()
    cart = [catalog.by_title("Clean Architecture")]
    server.script = Script(answer={"titles": ["Clean Architecture", "A Book That Does Not Exist", "Refactoring"]})
    recommender = LlmRecommender(client_for(server), catalog, CatalogRecommender(catalog))
    picks = recommender.recommend([b for b in cart if b], 3)
    assert picks[0].title == "Refactoring" and len(picks) == 3
    assert all(b.title != "Clean Architecture" for b in picks)
    assert [b.id for b in picks[1:]] == [
        b.id for b in CatalogRecommender(catalog).recommend([b for b in cart if b], 3) if b.title != "Refactoring"
    ][:2]


def test_a_prefetched_answer_is_used_for_its_order_and_forgotten_after(server: FakeOpenAI) -> None:
    catalog = load_catalog()
    server.script = Script(answer={"titles": ["Peopleware"]})
    recommender = LlmRecommender(client_for(server), catalog, CatalogRecommender(catalog))
    recommender.prefetch("order-1", [])
    assert recommender.recommend_for("order-1", [], 3)[0].title == "Peopleware"
    assert len(server.requests) == 1  # the prefetch was the only call
    recommender.forget("order-1")
    recommender.recommend_for("order-1", [], 3)
    assert len(server.requests) == 2


def test_suggestions_fall_back_to_the_catalog_when_the_model_fails(server: FakeOpenAI) -> None:
    catalog = load_catalog()
    server.script = Script(mode=Mode.SERVER_ERROR)
    fallback = CatalogRecommender(catalog)
    assert LlmRecommender(client_for(server), catalog, fallback).recommend([], 3) == fallback.recommend([], 3)
