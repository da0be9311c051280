"""One transaction's two-phase commit as a timeline: what each replica saw, kept in a bounded journal, and merged.

Pure: steps come in with their wall time; the journal keeps `transactions_max` transactions (oldest out) and
`steps_per_transaction_max` steps each. `merge` joins the three replicas' journals into one timeline (docs/drawings.md).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

TRANSACTIONS_MAX = 2_000
STEPS_PER_TRANSACTION_MAX = 48  # prepare, votes, decision, phase 2 and acks with a few retry rounds, END


class Kind(StrEnum):
    BEGIN_LOGGED = "begin_logged"  # BEGIN applied from the group's log (every replica records it)
    PREPARE_SENT = "prepare_sent"  # the leader sent Prepare to a participant
    VOTE = "vote"  # a participant's vote (ok = COMMIT), or no answer in time
    DECISION_LOGGED = "decision_logged"  # the decision applied from the log, at its index (every replica)
    RECOVERY = "recovery"  # a leader took over a transaction it found open in the log
    PHASE2_SENT = "phase2_sent"  # Commit or Abort sent to a participant (round 0, then retries)
    ACK = "ack"  # the participant acknowledged phase 2 (ok), or did not (ok false, detail why)
    RETRY = "retry"  # phase 2 goes round again for the participants that did not acknowledge
    END_LOGGED = "end_logged"  # END applied from the log: every participant acknowledged


LOGGED = frozenset({Kind.BEGIN_LOGGED, Kind.DECISION_LOGGED, Kind.END_LOGGED})


@dataclass(frozen=True, slots=True)
class Step:
    kind: Kind
    at_s: float  # wall time on the recording replica (Unix seconds)
    node_id: str
    term: int = 0
    index: int = 0  # the log index of a logged entry
    participant: str = ""
    ok: bool = False
    detail: str = ""
    round: int = 0


class Journal:
    """Steps per transaction, in the order they were recorded on this replica."""

    def __init__(
        self, *, transactions_max: int = TRANSACTIONS_MAX, steps_per_transaction_max: int = STEPS_PER_TRANSACTION_MAX
    ) -> None:
        if transactions_max < 1 or steps_per_transaction_max < 1:
            raise ValueError("transactions_max and steps_per_transaction_max must be at least 1")
        self.transactions_max = transactions_max
        self.steps_per_transaction_max = steps_per_transaction_max
        self._steps: OrderedDict[str, list[Step]] = OrderedDict()
        self._dropped: dict[str, int] = {}

    def add(self, tx_id: str, step: Step) -> bool:
        """False when the transaction's journal is full (the step is counted as dropped, never silently lost)."""
        steps = self._steps.get(tx_id)
        if steps is None:
            if len(self._steps) >= self.transactions_max:
                oldest, _ = self._steps.popitem(last=False)
                self._dropped.pop(oldest, None)
            steps = self._steps[tx_id] = []
        if len(steps) >= self.steps_per_transaction_max:
            self._dropped[tx_id] = self._dropped.get(tx_id, 0) + 1
            return False
        steps.append(step)
        return True

    def steps(self, tx_id: str) -> tuple[Step, ...]:
        return tuple(self._steps.get(tx_id, ()))

    def dropped(self, tx_id: str) -> int:
        return self._dropped.get(tx_id, 0)

    def __len__(self) -> int:
        return len(self._steps)


@dataclass(frozen=True, slots=True)
class TimelineStep:
    """A step of the merged timeline; a logged entry lists every replica that applied it."""

    step: Step
    applied_by: tuple[str, ...] = ()


def merge(journals: Iterable[Iterable[Step]]) -> list[TimelineStep]:
    """The replicas' journals as one timeline, by wall time.

    A logged entry appears once per (kind, index), with the replicas that applied it; its term is the one the
    leader that logged it recorded (exact), else the smallest term a replica had when applying it (a replica's
    term only grows, so that one is the closest). Every other step is the leader's own, kept as recorded.
    """
    logged: dict[tuple[Kind, int], list[Step]] = {}
    others: list[Step] = []
    for journal in journals:
        for step in journal:
            if step.kind in LOGGED:
                logged.setdefault((step.kind, step.index), []).append(step)
            else:
                others.append(step)
    merged = [TimelineStep(s) for s in others]
    for copies in logged.values():
        first = min(copies, key=lambda s: (s.at_s, s.node_id))
        terms = [s.term for s in copies if s.term]
        merged.append(
            TimelineStep(replace(first, term=min(terms) if terms else 0), tuple(sorted({s.node_id for s in copies})))
        )
    return sorted(merged, key=lambda t: (t.step.at_s, _KIND_ORDER[t.step.kind], t.step.participant))


_KIND_ORDER = {kind: position for position, kind in enumerate(Kind)}
