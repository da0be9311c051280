"""The checkout validation flow's events, their services and their partial order (docs/design.md §3).

a VerifyItems · b VerifyUserData (TV) concurrent; c after a; d CheckUserData (FD) after b;
e CheckCreditCardData (FD) after c and d; f GetSuggestions (S) after e. Each service runs its projection.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from utils.flow.core.causal import EventGraph


class Service(StrEnum):
    ORCHESTRATOR = "orchestrator"
    TRANSACTION_VERIFICATION = "transaction_verification"
    FRAUD_DETECTION = "fraud_detection"
    SUGGESTIONS = "suggestions"


START = "Start"  # the orchestrator starting the flow: a predecessor of the root events
INIT = "InitOrder"  # each service's own first event: it must have the order before running anything


@dataclass(frozen=True, slots=True)
class FlowEvent:
    name: str  # also the RPC that delivers it, when it is started by a message
    service: Service
    predecessors: tuple[str, ...]


EVENTS: tuple[FlowEvent, ...] = (
    FlowEvent(START, Service.ORCHESTRATOR, ()),
    FlowEvent("VerifyItems", Service.TRANSACTION_VERIFICATION, (START,)),  # a
    FlowEvent("VerifyUserData", Service.TRANSACTION_VERIFICATION, (START,)),  # b
    FlowEvent("VerifyCreditCardFormat", Service.TRANSACTION_VERIFICATION, ("VerifyItems",)),  # c
    FlowEvent("CheckUserData", Service.FRAUD_DETECTION, ("VerifyUserData",)),  # d
    FlowEvent("CheckCreditCardData", Service.FRAUD_DETECTION, ("VerifyCreditCardFormat", "CheckUserData")),  # e
    FlowEvent("GetSuggestions", Service.SUGGESTIONS, ("CheckCreditCardData",)),  # f
)
BY_NAME: dict[str, FlowEvent] = {event.name: event for event in EVENTS}
VALIDATION_SERVICES = (Service.TRANSACTION_VERIFICATION, Service.FRAUD_DETECTION, Service.SUGGESTIONS)


def event(name: str) -> FlowEvent:
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"no flow event named {name!r}") from None


def events_of(service: Service) -> tuple[FlowEvent, ...]:
    return tuple(e for e in EVENTS if e.service is service)


def successors(name: str) -> tuple[FlowEvent, ...]:
    """The events that come directly after `name`, in declaration order."""
    return tuple(e for e in EVENTS if name in e.predecessors)


def is_last(name: str) -> bool:
    """The flow's last event: when it passes, the order is approved."""
    return event(name).service is not Service.ORCHESTRATOR and not successors(name)


def message_announces(name: str) -> str:
    """The one remote predecessor whose happening the message that starts `name` carries.

    A message starts an event only when the event has a predecessor on another service; that sender's
    event is what the message's clock stamps.
    """
    remote = [p for p in event(name).predecessors if event(p).service is not event(name).service]
    if len(remote) != 1:
        raise ValueError(f"event {name!r} is not started by a message")
    return remote[0]


def local_graph(service: Service) -> EventGraph:
    """The gate's graph for one service: its events, each also after the service's own InitOrder."""
    return EventGraph({e.name: frozenset((*e.predecessors, INIT)) for e in events_of(service)})


def message_events(service: Service) -> tuple[str, ...]:
    """The events of `service` that a message from another service (or the orchestrator) starts."""
    names = []
    for e in events_of(service):
        if any(event(p).service is not service for p in e.predecessors):
            names.append(e.name)
    return tuple(names)


assert all(p in BY_NAME for e in EVENTS for p in e.predecessors), "every predecessor is a flow event"
assert [e.name for e in EVENTS if is_last(e.name)] == ["GetSuggestions"], "the flow has one last event"
