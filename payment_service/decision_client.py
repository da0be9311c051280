"""The executor group's decisions as the payment service asks for them: the shared client (utils/twopc)."""

from __future__ import annotations

from utils.twopc.decision_client import DecisionAnswer, DecisionUnavailable, ExecutorDecisionClient

__all__ = ["DecisionAnswer", "DecisionUnavailable", "ExecutorDecisionClient"]
