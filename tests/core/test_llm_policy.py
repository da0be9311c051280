"""The meaning of a model's verdict (fraud) and the filter on its suggestions, as tables."""

from __future__ import annotations

import pytest

from fraud_detection.core.llm_policy import FraudVerdict, LlmEffect, decide
from suggestions.llm_recommender import fill_from, keep_real_suggestions
from utils.catalog.file import load_catalog


@pytest.mark.parametrize(
    ("verdict", "effect"),
    [
        (None, LlmEffect.FALLBACK),
        (FraudVerdict(is_fraud=False, confidence=0.99, reasons=[]), LlmEffect.CLEAR),
        (FraudVerdict(is_fraud=True, confidence=0.79, reasons=["x"]), LlmEffect.FLAG_ONLY),
        (FraudVerdict(is_fraud=True, confidence=0.80, reasons=["x"]), LlmEffect.REJECT),
    ],
)
def test_verdict_to_effect(verdict: FraudVerdict | None, effect: LlmEffect) -> None:
    assert decide(verdict, 0.8).effect is effect


def test_a_rejection_names_the_models_reasons() -> None:
    decision = decide(FraudVerdict(is_fraud=True, confidence=1.0, reasons=["velocity", " bin "]))
    assert decision.reason == "Fraud suspected: velocity; bin"


def test_suggestion_filter_drops_unknown_cart_and_repeated_books_and_caps_at_three() -> None:
    catalog = load_catalog()
    titles = ["clean code", "Nope", "Clean Code", "Refactoring", "Code Complete", "Peopleware"]
    kept = keep_real_suggestions(titles, catalog, cart_ids={"book_106_refactoring"})
    assert [b.title for b in kept] == ["Clean Code", "Code Complete", "Peopleware"]


def test_fill_never_adds_a_cart_book_or_a_duplicate() -> None:
    books = list(load_catalog().books)
    chosen = fill_from([books[0]], [books[0], books[1], books[2], books[3]], cart_ids={books[1].id})
    assert [b.id for b in chosen] == [books[0].id, books[2].id, books[3].id]
