"""The causal-delivery gate: an event runs only once every declared predecessor is known to have happened.

Pure: stamps (vector clocks) of happened events come in by `record`, requests to run by `offer`; an event
offered early is held, with a deadline, until `record` releases it or `expire(now_s)` drops it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Generic, TypeVar

from utils.flow.core.vclock import Ordering, VectorClock

P = TypeVar("P")  # what the caller keeps with a held event (e.g. the request's context); opaque here


class Delivery(Enum):
    RUN = "run"  # every predecessor has happened: run it now
    HOLD = "hold"  # a predecessor has not happened yet: held until it does or the deadline passes
    DUPLICATE = "duplicate"  # this event already ran or is already held for this order: ignore the request


class GateFull(Exception):
    """Too many orders, or too many held events for one order: the request is refused, never dropped silently."""


@dataclass(frozen=True, slots=True)
class EventGraph:
    """Each event this gate runs, with the events that must happen before it (local or remote)."""

    predecessors: Mapping[str, frozenset[str]]

    def __post_init__(self) -> None:
        for event, before in self.predecessors.items():
            if event in before:
                raise ValueError(f"event {event!r} cannot precede itself")
        self._check_acyclic()

    def _check_acyclic(self) -> None:
        done: set[str] = set()

        def visit(event: str, path: tuple[str, ...]) -> None:
            if event in path:
                raise ValueError(f"event graph has a cycle: {' -> '.join((*path, event))}")
            if event in done:
                return
            for before in sorted(self.predecessors.get(event, frozenset())):
                visit(before, (*path, event))
            done.add(event)

        for event in sorted(self.predecessors):
            visit(event, ())

    def names(self) -> frozenset[str]:
        """Every event name the gate knows: those it runs and those it only hears about."""
        return frozenset(self.predecessors).union(*self.predecessors.values())


@dataclass(frozen=True, slots=True)
class Released(Generic[P]):
    order_id: str
    event: str
    payload: P


@dataclass(frozen=True, slots=True)
class Expired(Generic[P]):
    order_id: str
    event: str
    payload: P
    missing: tuple[str, ...]  # the predecessors that never came


@dataclass(slots=True)
class _Held(Generic[P]):
    deadline_s: float
    payload: P


@dataclass(slots=True)
class _OrderEvents(Generic[P]):
    deadline_s: float
    happened: dict[str, VectorClock] = field(default_factory=dict)
    held: dict[str, _Held[P]] = field(default_factory=dict)
    started: set[str] = field(default_factory=set)  # offered and run (or running): a second offer is a duplicate


class CausalGate(Generic[P]):
    """Per order: which events have happened (with their stamps), which are held, and until when."""

    def __init__(self, graph: EventGraph, *, orders_max: int, held_per_order_max: int) -> None:
        if orders_max < 1 or held_per_order_max < 1:
            raise ValueError("orders_max and held_per_order_max must be at least 1")
        self.graph = graph
        self.orders_max = orders_max
        self.held_per_order_max = held_per_order_max
        self._orders: dict[str, _OrderEvents[P]] = {}

    # --- inputs -------------------------------------------------------------------------------

    def record(self, order_id: str, event: str, stamp: VectorClock, deadline_s: float) -> list[Released[P]]:
        """`event` happened with `stamp`; returns the held events this makes deliverable (sorted by name).

        A second record of another service's event keeps the first stamp (a duplicate message); of a local one, a bug.
        """
        self._check_name(event)
        entry = self._entry(order_id, deadline_s)
        if event in entry.happened:
            # A repeated message about another service's event is a duplicate; an event of our own twice is a bug.
            assert event not in self.graph.predecessors, f"{order_id}: local event {event} recorded twice"
            return []
        for before in self.graph.predecessors.get(event, frozenset()):
            # Paired assertion: a local event's stamp is after each predecessor's (merge, then tick).
            if before in entry.happened:
                assert entry.happened[before].compare(stamp) is Ordering.BEFORE, (
                    f"{order_id}: stamp of {event} {stamp} is not after {before} {entry.happened[before]}"
                )
        entry.happened[event] = stamp
        released: list[Released[P]] = []
        for name in sorted(entry.held):
            if self._is_deliverable(entry, name):
                held = entry.held.pop(name)
                entry.started.add(name)
                released.append(Released(order_id, name, held.payload))
        return released

    def offer(self, order_id: str, event: str, deadline_s: float, payload: P) -> Delivery:
        """Asks to run `event`: RUN (and marked started), HOLD until its predecessors happen, or DUPLICATE."""
        if event not in self.graph.predecessors:
            raise ValueError(f"this gate does not run event {event!r}")
        entry = self._entry(order_id, deadline_s)
        if event in entry.started or event in entry.held or event in entry.happened:
            return Delivery.DUPLICATE
        if self._is_deliverable(entry, event):
            entry.started.add(event)
            return Delivery.RUN
        if len(entry.held) >= self.held_per_order_max:
            raise GateFull(f"order {order_id} already holds {len(entry.held)} events")
        entry.held[event] = _Held(deadline_s, payload)
        return Delivery.HOLD

    def expire(self, now_s: float) -> list[Expired[P]]:
        """Drops held events past their deadline (returned, so the caller can report them) and dead orders."""
        expired: list[Expired[P]] = []
        for order_id in sorted(self._orders):
            entry = self._orders[order_id]
            for name in sorted(entry.held):
                if entry.held[name].deadline_s <= now_s:
                    missing = tuple(sorted(b for b in self.graph.predecessors[name] if b not in entry.happened))
                    expired.append(Expired(order_id, name, entry.held.pop(name).payload, missing))
            if entry.deadline_s <= now_s and not entry.held:
                # The flow's deadline has passed: nothing more can legitimately arrive for it.
                del self._orders[order_id]
        return expired

    def forget(self, order_id: str) -> list[str]:
        """The flow is over (cleared or expired): drops its state; returns the events that were still held."""
        entry = self._orders.pop(order_id, None)
        return sorted(entry.held) if entry else []

    # --- queries ------------------------------------------------------------------------------

    def inputs(self, order_id: str, event: str) -> VectorClock:
        """The merged stamps of `event`'s predecessors: what its stamp must come after."""
        entry = self._orders[order_id]
        stamps = [entry.happened[before] for before in sorted(self.graph.predecessors[event])]
        return VectorClock().merge(*stamps)

    def missing(self, order_id: str, event: str) -> tuple[str, ...]:
        """The predecessors of `event` not yet known to have happened for this order."""
        entry = self._orders.get(order_id)
        happened = entry.happened if entry else {}
        return tuple(sorted(b for b in self.graph.predecessors[event] if b not in happened))

    def happened(self, order_id: str) -> dict[str, VectorClock]:
        entry = self._orders.get(order_id)
        return dict(entry.happened) if entry else {}

    def held(self, order_id: str) -> tuple[str, ...]:
        entry = self._orders.get(order_id)
        return tuple(sorted(entry.held)) if entry else ()

    def __len__(self) -> int:
        return len(self._orders)

    # --- internals ----------------------------------------------------------------------------

    def _check_name(self, event: str) -> None:
        if event not in self.graph.names():
            raise ValueError(f"unknown event {event!r}")

    def _entry(self, order_id: str, deadline_s: float) -> _OrderEvents[P]:
        if not order_id:
            raise ValueError("an order id is required")
        entry = self._orders.get(order_id)
        if entry is None:
            if len(self._orders) >= self.orders_max:
                raise GateFull(f"gate tracks {len(self._orders)} orders, the most it may")
            entry = self._orders[order_id] = _OrderEvents(deadline_s)
        entry.deadline_s = max(entry.deadline_s, deadline_s)
        return entry

    def _is_deliverable(self, entry: _OrderEvents[P], event: str) -> bool:
        return all(before in entry.happened for before in self.graph.predecessors[event])
