"""Cooperative termination for either participant: a transaction PREPARED for too long asks the executor group.

A participant that voted COMMIT never decides alone; it asks, with backoff, until the group answers. What "in
doubt" means and how a decision is applied is the participant's (InDoubtParticipant); the pace is shared.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from utils.twopc.decision_client import DecisionAnswer, DecisionUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TerminationPace:
    after_s: float = 3.0  # a PREPARED transaction this old without a decision is in doubt
    interval_s: float = 0.5  # how often the in-doubt list is scanned
    backoff_max_s: float = 5.0  # per transaction: 2 × interval, 4 × ..., at most this
    batch_max: int = 100  # transactions asked about per scan


class InDoubtParticipant(Protocol):
    def in_doubt(self, now: float, after_s: float, limit: int) -> list[str]:
        """Ids of transactions PREPARED for at least `after_s` (oldest first, at most `limit`)."""
        ...

    def incarnation(self) -> str:
        """The executor-group incarnation this participant follows ("" before it has seen one)."""
        ...

    def apply_decision(self, tx_id: str, answer: DecisionAnswer) -> str:
        """Applies a final decision (COMMIT or ABORT) through the participant's own rules; returns its log event."""
        ...


class Terminator:
    """Runs on a daemon thread; `scan_once` is the unit the tests call directly."""

    def __init__(
        self,
        participant: InDoubtParticipant,
        ask: Callable[[str], DecisionAnswer],
        pace: TerminationPace = TerminationPace(),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._participant = participant
        self._ask = ask
        self._pace = pace
        self._clock = clock
        self._next_try: dict[str, tuple[int, float]] = {}  # tx → (attempts so far, not before)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="2pc-termination", daemon=True)
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
        """Asks about each in-doubt transaction that is due; returns how many were resolved."""
        now = self._clock()
        in_doubt = self._participant.in_doubt(now, self._pace.after_s, self._pace.batch_max)
        still = set(in_doubt)
        self._next_try = {tx: v for tx, v in self._next_try.items() if tx in still}
        resolved = 0
        for tx_id in in_doubt:
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
        followed = self._participant.incarnation()
        if followed and answer.incarnation and answer.incarnation != followed:
            # Another group's log never decides our transaction (it would presume abort on what it never knew).
            log.warning(
                "decision from another executor-group incarnation ignored",
                extra={"tx_id": tx_id, "answered_by": answer.incarnation, "followed": followed},
            )
            return False
        # The decision comes from the group's replicated log, so it is final whatever term we saw last.
        try:
            event = self._participant.apply_decision(tx_id, answer)
        except DecisionUnavailable as error:
            log.info("decision known but not applied yet", extra={"tx_id": tx_id, "error": str(error)})
            return False
        log.info(
            "in-doubt transaction resolved by asking the executors",
            extra={"tx_id": tx_id, "decision": answer.outcome, "event": event},
        )
        return True
