"""The gateway's copy of each order's validation trace: the services' event records plus its own, for the drawing.

Bounded and expiring (the oldest order goes first; an order's trace is gone `ttl_s` after its flow ended), like
the rest of the gateway's per-order state; `GET /orders/{id}/trace` serves it (docs/drawings.md).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from utils.flow.core.checkout import BY_NAME, INIT, START, Service
from utils.flow.core.trace import GATEWAY, OUTCOME, RECORDS_PER_ORDER_MAX, EventRecord, messages
from utils.flow.core.vclock import VectorClock

LANES = (
    Service.ORCHESTRATOR.value,
    Service.TRANSACTION_VERIFICATION.value,
    Service.FRAUD_DETECTION.value,
    Service.SUGGESTIONS.value,
)
LANE_LABELS = {
    Service.ORCHESTRATOR.value: "gateway",
    Service.TRANSACTION_VERIFICATION.value: "TV",
    Service.FRAUD_DETECTION.value: "FD",
    Service.SUGGESTIONS.value: "S",
}
# The course's letters for the six events (docs/design.md §3.2).
LETTERS = {
    "VerifyItems": "a",
    "VerifyUserData": "b",
    "VerifyCreditCardFormat": "c",
    "CheckUserData": "d",
    "CheckCreditCardData": "e",
    "GetSuggestions": "f",
}


@dataclass(frozen=True, slots=True)
class FlowTrace:
    order_id: str
    records: tuple[EventRecord, ...]
    status: str  # approved | rejected | failed | no outcome

    def to_json(self) -> dict[str, Any]:
        return {
            "orderId": self.order_id,
            "status": self.status,
            "lanes": [{"service": lane, "label": LANE_LABELS[lane]} for lane in LANES],
            "events": [_event_json(r) for r in _in_causal_order(self.records)],
            "messages": [
                {
                    "from": {"service": m.from_service, "event": m.from_event},
                    "to": {"service": m.to_service, "event": m.to_event},
                }
                for m in messages(self.records)
            ],
        }


def _event_json(record: EventRecord) -> dict[str, Any]:
    flow_event = BY_NAME.get(record.event)
    return {
        "service": record.service,
        "event": record.event,
        "letter": LETTERS.get(record.event, ""),
        "after": list(flow_event.predecessors) if flow_event else [],
        "clock": record.clock.as_dict(),
        "at": record.at_s,
        "held": record.held,
        "arrivedAt": record.arrived_at_s or None,
        "ranAt": record.ran_at_s or None,
        "passed": record.passed,
        "reasons": list(record.reasons),
    }


def _in_causal_order(records: Iterable[EventRecord]) -> list[EventRecord]:
    # A linear extension of happened-before: a sum of counters grows along every causal chain. Ties by wall time;
    # the gateway's outcome carries the reporter's stamp, and comes after it.
    return sorted(records, key=lambda r: (r.event == OUTCOME, sum(r.clock.as_dict().values()), r.at_s))


class FlowTraces:
    """Thread-safe; `orders_max` traces at most, each kept `ttl_s` after it was stored."""

    def __init__(self, *, orders_max: int = 2_000, ttl_s: float = 3_600.0, now: Callable[[], float] = time.monotonic):
        if orders_max < 1 or ttl_s <= 0:
            raise ValueError("orders_max must be at least 1 and ttl_s positive")
        self.orders_max = orders_max
        self.ttl_s = ttl_s
        self._now = now
        self._traces: OrderedDict[str, tuple[float, FlowTrace]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, trace: FlowTrace) -> None:
        with self._lock:
            self._expire()
            self._traces.pop(trace.order_id, None)
            self._traces[trace.order_id] = (self._now() + self.ttl_s, trace)
            while len(self._traces) > self.orders_max:
                self._traces.popitem(last=False)

    def get(self, order_id: str) -> FlowTrace | None:
        with self._lock:
            self._expire()
            found = self._traces.get(order_id)
            return found[1] if found else None

    def __len__(self) -> int:
        with self._lock:
            return len(self._traces)

    def _expire(self) -> None:
        now = self._now()
        while self._traces:
            order_id, (expires_at, _) = next(iter(self._traces.items()))
            if expires_at > now:
                break
            del self._traces[order_id]


def gateway_records(
    init_sent_at_s: float,
    start_at_s: float,
    start_clock: VectorClock,
    outcome_at_s: float | None,
    outcome_clock: VectorClock,
) -> list[EventRecord]:
    """The gateway's own events: InitOrder sent (before everything), Start (after every init), the outcome received."""
    records = [
        EventRecord(GATEWAY, INIT, VectorClock(), init_sent_at_s, False, init_sent_at_s, init_sent_at_s),
        EventRecord(GATEWAY, START, start_clock, start_at_s, False, start_at_s, start_at_s),
    ]
    if outcome_at_s is not None:
        records.append(EventRecord(GATEWAY, OUTCOME, outcome_clock, outcome_at_s, False, outcome_at_s, outcome_at_s))
    return records


def build_trace(order_id: str, status: str, gateway: list[EventRecord], reported: Iterable[EventRecord]) -> FlowTrace:
    """The gateway's records first, then the services' as reported (deduplicated, at most the book's bound each)."""
    seen: set[tuple[str, str]] = set()
    kept: list[EventRecord] = []
    for record in [*gateway, *reported]:
        if record.key in seen or len(kept) >= RECORDS_PER_ORDER_MAX + len(gateway):
            continue
        seen.add(record.key)
        kept.append(record)
    return FlowTrace(order_id, tuple(kept), status)
