"""The flow trace's wire form: EventRecord to and from common_pb2.FlowEventRecord, a peer's records validated.

A malformed record from a peer is dropped by the caller (docs/design.md §10 rule 4); it never fails the flow.
"""

from __future__ import annotations

from collections.abc import Iterable

from utils.flow.core.trace import RECORDS_PER_ORDER_MAX, EventRecord
from utils.flow.core.vclock import VectorClock
from utils.pb.common import common_pb2

NAME_CHARS_MAX = 64
REASONS_MAX = 8
REASON_CHARS_MAX = 300


def record_to_proto(record: EventRecord) -> common_pb2.FlowEventRecord:
    return common_pb2.FlowEventRecord(
        service=record.service,
        event=record.event,
        clock=record.clock.to_proto(),
        at_s=record.at_s,
        held=record.held,
        arrived_at_s=record.arrived_at_s,
        ran_at_s=record.ran_at_s,
        passed=record.passed,
        reasons=list(record.reasons),
    )


def record_from_proto(message: common_pb2.FlowEventRecord) -> EventRecord:
    """Raises ValueError when a peer's record is malformed or too large."""
    for name in (message.service, message.event):
        if not name or len(name) > NAME_CHARS_MAX or not name.isprintable():
            raise ValueError(f"a trace record's service and event must be 1..{NAME_CHARS_MAX} printable characters")
    if len(message.reasons) > REASONS_MAX or any(len(r) > REASON_CHARS_MAX for r in message.reasons):
        raise ValueError(f"a trace record has at most {REASONS_MAX} reasons of {REASON_CHARS_MAX} characters")
    return EventRecord(
        service=message.service,
        event=message.event,
        clock=VectorClock.from_proto(message.clock),
        at_s=message.at_s,
        held=message.held,
        arrived_at_s=message.arrived_at_s,
        ran_at_s=message.ran_at_s,
        passed=message.passed,
        reasons=tuple(message.reasons),
    )


def records_to_proto(records: Iterable[EventRecord]) -> list[common_pb2.FlowEventRecord]:
    return [record_to_proto(r) for r in records][: RECORDS_PER_ORDER_MAX * 2]


def records_from_proto(messages: Iterable[common_pb2.FlowEventRecord]) -> tuple[tuple[EventRecord, ...], int]:
    """The well-formed records (at most twice a book's bound) and how many were dropped as malformed or extra."""
    kept: list[EventRecord] = []
    dropped = 0
    for message in messages:
        if len(kept) >= RECORDS_PER_ORDER_MAX * 2:
            dropped += 1
            continue
        try:
            kept.append(record_from_proto(message))
        except ValueError:
            dropped += 1
    return tuple(kept), dropped
