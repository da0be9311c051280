"""The LLM fraud assessor: asks the model about the redacted view of an order (the FraudAssessor seam).

The model sees items, total, e-mail domain, country, shipping and the card's last four digits — never
the number or the CVV. Any failure leaves the decision to the rules (a fallback, logged and counted).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict

from fraud_detection.core.assessor import Assessment, FraudView
from fraud_detection.core.llm_policy import FraudVerdict, LlmEffect, decide
from utils.llm.json_client import JsonChatClient, LlmUnavailable
from utils.telemetry import meter

log = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "You are a payment-fraud analyst for an online bookstore. Judge whether the order below is "
    "fraudulent. Answer only with JSON: is_fraud (boolean), confidence (0 to 1), reasons (short "
    "strings). Ordinary book orders are not fraud; say so with high confidence."
)


def prompt_for(view: FraudView) -> str:
    return json.dumps(asdict(view), default=str)


class LlmFraudAssessor:
    def __init__(self, client: JsonChatClient, reject_confidence_min: float) -> None:
        self.client = client
        self.reject_confidence_min = reject_confidence_min
        self._fallbacks = meter("fraud_detection").create_counter(
            "fraud_llm_fallbacks",
            unit="1",
            description="fraud decisions left to the rules because the LLM gave no verdict",
        )

    def assess(self, view: FraudView) -> Assessment:
        verdict: FraudVerdict | None = None
        try:
            verdict = self.client.ask(SYSTEM_PROMPT, prompt_for(view), FraudVerdict)
        except LlmUnavailable as failure:
            self._fallbacks.add(1, {"cause": failure.kind.value})
            if self.client.enabled:
                log.warning("fraud LLM fell back to rules", extra={"cause": failure.kind.value})
        decision = decide(verdict, self.reject_confidence_min)
        source = f"llm:{self.client.settings.openai_model}"
        if decision.effect is LlmEffect.REJECT:
            assert decision.reason is not None and decision.confidence is not None
            return Assessment(fraudulent=True, reason=decision.reason, confidence=decision.confidence, source=source)
        if decision.effect is LlmEffect.FLAG_ONLY:
            log.info(
                "fraud LLM flagged with low confidence; approved",
                extra={"confidence": decision.confidence, "llm_reason": decision.reason},
            )
        confidence = (
            decision.confidence if decision.effect is LlmEffect.CLEAR and decision.confidence is not None else 1.0
        )
        return Assessment(
            fraudulent=False,
            reason="",
            confidence=confidence,
            source=source if decision.effect is not LlmEffect.FALLBACK else "rules",
        )
