"""The validation flow's trace: each event's record (stamp, wall times, held or not, passed or why not), per order.

Pure and bounded: a TraceBook keeps at most `orders_max` orders (oldest dropped first) and `records_per_order_max`
records each; the records travel with the hand-offs and the report, so the gateway can draw the flow (docs/drawings.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from utils.flow.core.checkout import BY_NAME, INIT, START, Service, is_last
from utils.flow.core.vclock import VectorClock

RECORDS_PER_ORDER_MAX = 16  # 6 flow events + 3 InitOrders + the gateway's few, with room to spare


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One event as the service that ran it saw it. Times are wall-clock Unix seconds (for people, not ordering)."""

    service: str
    event: str
    clock: VectorClock  # the event's stamp: this, not the wall times, orders the drawing
    at_s: float  # when the stamp was taken
    held: bool = False  # it arrived before its predecessors had happened, and waited
    arrived_at_s: float = 0.0  # when the request to run it arrived
    ran_at_s: float = 0.0  # when it began to run (for a held event: when its wait ended)
    passed: bool = True
    reasons: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return self.service, self.event

    def __post_init__(self) -> None:
        if not self.service or not self.event:
            raise ValueError("an event record needs a service and an event")
        if not self.passed and not self.reasons:
            raise ValueError("a failed event's record must say why")


class TraceBook:
    """Records by order, in arrival order; the first record of an (order, service, event) wins (a repeat is a copy)."""

    def __init__(self, *, orders_max: int, records_per_order_max: int = RECORDS_PER_ORDER_MAX) -> None:
        if orders_max < 1 or records_per_order_max < 1:
            raise ValueError("orders_max and records_per_order_max must be at least 1")
        self.orders_max = orders_max
        self.records_per_order_max = records_per_order_max
        self._orders: dict[str, dict[tuple[str, str], EventRecord]] = {}
        self.dropped = 0  # records not kept: their order's book was full, or the order was pushed out

    def add(self, order_id: str, records: Iterable[EventRecord]) -> None:
        book = self._orders.get(order_id)
        if book is None:
            if len(self._orders) >= self.orders_max:
                # The trace is for looking at, never a reason to refuse a checkout: the oldest order goes.
                oldest = next(iter(self._orders))
                self.dropped += len(self._orders.pop(oldest))
            book = self._orders[order_id] = {}
        for record in records:
            if record.key in book:
                continue
            if len(book) >= self.records_per_order_max:
                self.dropped += 1
                continue
            book[record.key] = record

    def records(self, order_id: str) -> tuple[EventRecord, ...]:
        return tuple(self._orders.get(order_id, {}).values())

    def forget(self, order_id: str) -> None:
        self._orders.pop(order_id, None)

    def __len__(self) -> int:
        return len(self._orders)


@dataclass(frozen=True, slots=True)
class Message:
    """A hand-off drawn as an arrow: from one service's event to the event on another service it starts."""

    from_service: str
    from_event: str
    to_service: str
    to_event: str


GATEWAY = Service.ORCHESTRATOR.value
OUTCOME = "Outcome"  # the gateway receiving the report: the flow's end as the gateway sees it


def messages(records: Iterable[EventRecord]) -> list[Message]:
    """The arrows between the recorded events: the gateway's InitOrders and Start, the hand-offs, the report.

    Only between events that were recorded: a flow that stopped early has no arrow to an event that never ran.
    """
    have = {r.key for r in records}
    arrows: list[Message] = []
    for service in sorted({s for s, _ in have} - {GATEWAY}):
        if (service, INIT) in have and (GATEWAY, INIT) in have:
            arrows.append(Message(GATEWAY, INIT, service, INIT))
    for service, name in sorted(have, key=_declared):
        flow_event = BY_NAME.get(name)
        if flow_event is None or service == GATEWAY:
            continue
        for before in flow_event.predecessors:
            sender = BY_NAME[before].service.value
            if sender != service and (sender, before) in have:
                arrows.append(Message(sender, before, service, name))
    reporter = _reporter(records)
    if reporter is not None and (GATEWAY, OUTCOME) in have:
        arrows.append(Message(reporter.service, reporter.event, GATEWAY, OUTCOME))
    return arrows


def _reporter(records: Iterable[EventRecord]) -> EventRecord | None:
    """The event whose report ended the flow: the first failure, else the last event."""
    own = [r for r in records if r.service != GATEWAY]
    failed = [r for r in own if not r.passed]
    if failed:
        return min(failed, key=lambda r: r.at_s)
    return next((r for r in own if r.event in BY_NAME and is_last(r.event)), None)


def _declared(key: tuple[str, str]) -> tuple[int, str]:
    order = [START, INIT, *BY_NAME]
    return (order.index(key[1]) if key[1] in order else len(order)), key[0]
