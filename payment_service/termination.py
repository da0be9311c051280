"""Cooperative termination of the payment ledger: the shared loop (utils/twopc/termination.py) over this store.

A PREPARED payment whose decision never came asks the executor group for it, and the ledger's rules apply it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from payment_service.core.ledger import Abort, Commit, PaymentState, step
from payment_service.store import LedgerStore
from utils.twopc import termination
from utils.twopc.decision_client import DecisionAnswer
from utils.twopc.termination import TerminationPace

__all__ = ["PaymentInDoubt", "TerminationPace", "Terminator"]


class PaymentInDoubt:
    """The ledger as utils.twopc.termination sees it."""

    def __init__(self, store: LedgerStore) -> None:
        self._store = store

    def in_doubt(self, now: float, after_s: float, limit: int) -> list[str]:
        payments = self._store.in_state(PaymentState.PREPARED, updated_before=now - after_s, limit=limit)
        return [p.record.tx_id for p in payments]

    def incarnation(self) -> str:
        return self._store.fence().incarnation

    def apply_decision(self, tx_id: str, answer: DecisionAnswer) -> str:
        message_of = Commit if answer.outcome == "COMMIT" else Abort
        outcome = self._store.transact(
            tx_id,
            lambda record, fence: step(
                record, fence, message_of(tx_id, max(fence.newest, answer.term), fence.incarnation)
            ),
        )
        return outcome.event


class Terminator(termination.Terminator):
    def __init__(
        self,
        store: LedgerStore,
        ask: Callable[[str], DecisionAnswer],
        pace: TerminationPace = TerminationPace(),
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(PaymentInDoubt(store), ask, pace, clock)
