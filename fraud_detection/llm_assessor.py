"""Asks the model whether an order looks fraudulent, showing it only what it may see.

The prompt carries the card's first six and last four digits at most: never the number, never the CVV.
"""
from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass

from fraud_detection.llm_policy import FraudVerdict, LlmDecision, LlmEffect, decide
from utils.llm.json_client import JsonChatClient, LlmUnavailable
from utils.telemetry import meter

log = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "You are a payment-fraud analyst for an online bookstore. Judge whether the order below is "
    "fraudulent. Answer only with JSON: is_fraud (boolean), confidence (0 to 1), reasons (short "
    "strings). Ordinary book orders are not fraud; say so with high confidence."
)


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What the model is shown about an order."""

    user_name: str
    contact: str
    items: tuple[tuple[str, int], ...]     # (title, quantity)
    shipping_method: str
    billing_country: str
    card_bin: str                          # first six digits
    card_last4: str

    @classmethod
    def from_order(cls, order: dict[str, object], card_number: str) -> OrderFacts:
        digits = "".join(ch for ch in card_number if ch.isdigit())
        user = order.get("user") or {}
        billing = order.get("billingAddress") or {}
        items = order.get("items") or []
        assert isinstance(user, dict) and isinstance(billing, dict) and isinstance(items, list)
        return cls(
            user_name=str(user.get("name", "")), contact=str(user.get("contact", "")),
            items=tuple((str(i.get("name") or i.get("bookId") or ""), int(i.get("quantity", 0))) for i in items),
            shipping_method=str(order.get("shippingMethod", "")), billing_country=str(billing.get("country", "")),
            card_bin=digits[:6], card_last4=digits[-4:],
        )


class LlmFraudAssessor:
    def __init__(self, client: JsonChatClient, reject_confidence_min: float) -> None:
        self.client = client
        self.reject_confidence_min = reject_confidence_min
        self._fallbacks = meter("fraud_detection").create_counter(
            "fraud_llm_fallbacks", unit="1", description="fraud decisions left to the rules because the LLM gave no verdict")

    @property
    def enabled(self) -> bool:
        return self.client.enabled

    def assess(self, facts: OrderFacts) -> LlmDecision:
        verdict: FraudVerdict | None = None
        try:
            verdict = self.client.ask(SYSTEM_PROMPT, json.dumps(asdict(facts)), FraudVerdict)
        except LlmUnavailable as failure:
            self._fallbacks.add(1, {"cause": failure.kind.value})
            if self.client.enabled:
                log.warning("fraud LLM fell back to rules", extra={"cause": failure.kind.value})
        decision = decide(verdict, self.reject_confidence_min)
        if decision.effect is LlmEffect.FLAG_ONLY:
            log.info("fraud LLM flagged with low confidence; approved",
                     extra={"confidence": decision.confidence, "llm_reason": decision.reason})
        return decision
