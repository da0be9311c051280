"""What a leader must do about a transaction it finds in the log: resume its decision, presume abort, or report it.

Pure: from replicated records (and what this leader is already running) to a list of actions, in log order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from order_executor.core.order import OrderSummary, Outcome, TxRecord

PRESUMED_ABORT_REASON = "coordinator failed before deciding"


@dataclass(frozen=True, slots=True)
class RunNew:
    """No record: begin the transaction and prepare."""

    order: OrderSummary


@dataclass(frozen=True, slots=True)
class ResendDecision:
    """A decision is logged but not every participant acknowledged it: send it again (idempotent)."""

    order: OrderSummary
    outcome: Outcome
    reason: str


@dataclass(frozen=True, slots=True)
class PresumeAbort:
    """BEGIN is logged without a decision and nobody here is running it: no participant was told COMMIT."""

    order: OrderSummary


@dataclass(frozen=True, slots=True)
class ReportEnded:
    """Already finished: only the queue and the order status may not know yet."""

    order: OrderSummary
    outcome: Outcome
    reason: str


@dataclass(frozen=True, slots=True)
class AlreadyRunning:
    """This leader is running it right now: a second run would race the first."""

    tx_id: str


Action = RunNew | ResendDecision | PresumeAbort | ReportEnded | AlreadyRunning


def plan_for(order: OrderSummary, record: TxRecord | None, in_flight: frozenset[str] | set[str]) -> Action:
    """The rule for one transaction, whether found by recovery or leased again from the queue.

    Idempotence by order id: a transaction already in the log is resumed from where it is, never restarted.
    """
    if order.order_id in in_flight:
        return AlreadyRunning(order.order_id)
    if record is None:
        return RunNew(order)
    if record.tx_id != order.order_id:
        raise ValueError(f"record {record.tx_id} given for order {order.order_id}")
    if record.ended:
        assert record.decision is not None, "END is logged only after a decision"
        return ReportEnded(record.order, record.decision, record.reason)
    if record.decision is not None:
        return ResendDecision(record.order, record.decision, record.reason)
    return PresumeAbort(record.order)


RecoveryAction = ResendDecision | PresumeAbort


def plan_recovery(open_records: Iterable[TxRecord], in_flight: frozenset[str] | set[str]) -> list[RecoveryAction]:
    """For a new leader: every transaction begun and not ended, oldest BEGIN first; those running here are skipped."""
    actions: list[RecoveryAction] = []
    for record in sorted(open_records, key=lambda r: r.begun_index):
        if record.ended:
            raise ValueError(f"transaction {record.tx_id} is ended: not an open record")
        action = plan_for(record.order, record, in_flight)
        if isinstance(action, AlreadyRunning):
            continue
        assert isinstance(action, (ResendDecision, PresumeAbort)), "an open record is resumed, never run anew"
        actions.append(action)
    return actions
