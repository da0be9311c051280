"""A batch of acks judged in order, each alone against its order's lease (the rules of lease.ack).

Pure: the records and `now` come in; the judgements and the records to persist go out (one commit for all).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from order_queue.core import lease
from order_queue.core.lease import LeaseError, LeaseRecord, State, Verdict


@dataclass(frozen=True, slots=True)
class AckInput:
    order_id: str
    lease_id: str
    outcome: State
    reason: str = ""
    total: str = ""


class Refusal(Enum):
    UNKNOWN_ORDER = "unknown_order"  # NOT_FOUND
    STALE_LEASE = "stale_lease"  # FAILED_PRECONDITION: superseded lease, or a different final outcome
    INVALID = "invalid"  # INVALID_ARGUMENT: the outcome is not COMMITTED or ABORTED


@dataclass(frozen=True, slots=True)
class Judgement:
    """One ack's answer: `record` after it when accepted, else `refusal` with `detail`."""

    order_id: str
    before: State | None  # the order's state just before this ack (None: unknown order)
    record: LeaseRecord | None
    refusal: Refusal | None = None
    detail: str = ""

    @property
    def accepted(self) -> bool:
        return self.refusal is None


@dataclass(frozen=True, slots=True)
class BatchVerdict:
    judgements: tuple[Judgement, ...]  # one per ack, in the batch's order
    writes: Mapping[str, LeaseRecord]  # each changed order's final record: what the one commit writes


def judge(records: Mapping[str, LeaseRecord], acks: Sequence[AckInput], now: float) -> BatchVerdict:
    """Each ack meets the record as the acks before it in the batch left it, exactly as if they had come
    one call at a time; a refused ack changes nothing and stops no other."""
    current = dict(records)
    writes: dict[str, LeaseRecord] = {}
    judgements: list[Judgement] = []
    for ack in acks:
        record = current.get(ack.order_id)
        if record is None:
            judgements.append(Judgement(ack.order_id, None, None, Refusal.UNKNOWN_ORDER, f"no order {ack.order_id!r}"))
            continue
        try:
            transition = lease.ack(record, ack.lease_id, ack.outcome, ack.reason, ack.total, now)
        except LeaseError as error:
            judgements.append(Judgement(ack.order_id, record.state, None, Refusal.STALE_LEASE, str(error)))
            continue
        except ValueError as error:
            judgements.append(Judgement(ack.order_id, record.state, None, Refusal.INVALID, str(error)))
            continue
        if transition.verdict is Verdict.CHANGED:
            writes[ack.order_id] = transition.record
        current[ack.order_id] = transition.record
        judgements.append(Judgement(ack.order_id, record.state, transition.record))
    return BatchVerdict(tuple(judgements), writes)
