"""What a chaos run saw beyond testing/evidence.py's client history: the faults it injected and how its load
kept up — `Observed` is the finished record, collected by chaos/history.py while the run goes.
"""

from __future__ import annotations

from dataclasses import dataclass

from chaos.scenario import FaultEvent
from testing.evidence import ClientHistory


@dataclass(frozen=True, slots=True)
class FaultRecord:
    event: FaultEvent
    node: str  # the process it hit ("books-2", "executor-1", "payment_service", "*")
    started_at_s: float
    healed_at_s: float | None
    error: str = ""  # why it could not be injected (it is then reported, not counted)


@dataclass(frozen=True, slots=True)
class Observed(ClientHistory):
    """Everything recorded during one run, frozen once the load has stopped."""

    faults: tuple[FaultRecord, ...] = ()
    skipped_ticks: int = 0
    load_s: float = 0.0  # how long the load ran
    load_sequence_max: int = 0  # checkouts numbered above it came after the load
