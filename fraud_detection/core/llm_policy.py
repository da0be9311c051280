"""What a model's fraud verdict means for an order: pure, so every path is a table test.

High-confidence fraud rejects with the model's reason; low confidence approves and is logged;
no verdict (LLM off or failed) leaves the decision to the rules, recorded as a fallback.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from pydantic import BaseModel, Field

CONFIDENCE_TO_REJECT_MIN = 0.8


class FraudVerdict(BaseModel):
    """The JSON the model must answer with."""

    is_fraud: bool
    confidence: float = Field(ge=0.0, le=1.0)
    reasons: list[str] = Field(max_length=5)


class LlmEffect(enum.Enum):
    REJECT = "reject"  # confident fraud: the order is rejected with the model's reason
    FLAG_ONLY = "flag_only"  # fraud, but not confident: approve, log it
    CLEAR = "clear"  # the model sees no fraud
    FALLBACK = "fallback"  # no verdict: the rules alone decide


@dataclass(frozen=True, slots=True)
class LlmDecision:
    effect: LlmEffect
    reason: str | None = None
    confidence: float | None = None


def decide(verdict: FraudVerdict | None, reject_confidence_min: float = CONFIDENCE_TO_REJECT_MIN) -> LlmDecision:
    if verdict is None:
        return LlmDecision(LlmEffect.FALLBACK)
    if not verdict.is_fraud:
        return LlmDecision(LlmEffect.CLEAR, confidence=verdict.confidence)
    reason = "; ".join(r.strip() for r in verdict.reasons if r.strip()) or "suspected fraud"
    if verdict.confidence >= reject_confidence_min:
        return LlmDecision(LlmEffect.REJECT, f"Fraud suspected: {reason}", verdict.confidence)
    return LlmDecision(LlmEffect.FLAG_ONLY, reason, verdict.confidence)
