"""Cooperative termination: a PREPARED payment whose decision never came asks the executor group for it.

A participant that voted COMMIT never decides alone; it asks, with backoff, until the group answers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from payment_service.core.ledger import Abort, Commit, PaymentState, step
from payment_service.decision_client import DecisionAnswer, DecisionUnavailable
from payment_service.store import LedgerStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TerminationPace:
    after_s: float = 3.0  # a PREPARED payment this old without a decision is in doubt
    interval_s: float = 0.5  # how often the in-doubt list is scanned
    backoff_max_s: float = 5.0  # per transaction: 2 × interval, 4 × ..., at most this
    batch_max: int = 100  # payments asked about per scan


class Terminator:
    """Runs on a daemon thread; `scan_once` is the unit the tests call directly."""

    def __init__(
        self,
        store: LedgerStore,
        ask: Callable[[str], DecisionAnswer],
        pace: TerminationPace = TerminationPace(),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._ask = ask
        self._pace = pace
        self._clock = clock
        self._next_try: dict[str, tuple[int, float]] = {}  # tx → (attempts so far, not before)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="payment-termination", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._pace.interval_s):
            try:
                self.scan_once()
            except Exception:  # keep asking: a participant in doubt must not give up
                log.exception("termination scan failed")

    def scan_once(self) -> int:
        """Asks about each in-doubt payment that is due; returns how many were resolved."""
        now = self._clock()
        in_doubt = self._store.in_state(
            PaymentState.PREPARED, updated_before=now - self._pace.after_s, limit=self._pace.batch_max
        )
        still = {p.record.tx_id for p in in_doubt}
        self._next_try = {tx: v for tx, v in self._next_try.items() if tx in still}
        resolved = 0
        for payment in in_doubt:
            tx_id = payment.record.tx_id
            attempts, not_before = self._next_try.get(tx_id, (0, 0.0))
            if now < not_before:
                continue
            if self._resolve(tx_id):
                resolved += 1
                self._next_try.pop(tx_id, None)
            else:
                delay_s = min(self._pace.backoff_max_s, self._pace.interval_s * 2 ** (attempts + 1))
                self._next_try[tx_id] = (attempts + 1, now + delay_s)
        return resolved

    def _resolve(self, tx_id: str) -> bool:
        try:
            answer = self._ask(tx_id)
        except DecisionUnavailable as error:
            log.info("decision not available yet", extra={"tx_id": tx_id, "error": str(error)})
            return False
        if answer.outcome is None:
            log.info("transaction still undecided", extra={"tx_id": tx_id, "term": answer.term})
            return False
        # The decision comes from the group's replicated log, so it is final whatever term we saw last.
        message_of = Commit if answer.outcome == "COMMIT" else Abort
        outcome = self._store.transact(
            tx_id, lambda record, term_seen: step(record, term_seen, message_of(tx_id, max(term_seen, answer.term)))
        )
        log.info(
            "in-doubt payment resolved by asking the executors",
            extra={"tx_id": tx_id, "decision": answer.outcome, "event": outcome.event, "state": outcome.state.value},
        )
        return True
