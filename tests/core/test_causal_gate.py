"""The causal-delivery gate: an event runs only after its declared predecessors; early ones wait, bounded.

Uses fraud_detection's projection of the checkout flow (docs/design.md §3): d after b; e after c and d.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from utils.flow.core import checkout
from utils.flow.core.causal import CausalGate, Delivery, EventGraph, GateFull
from utils.flow.core.checkout import INIT, Service
from utils.flow.core.vclock import VectorClock

B, C, D, E = "VerifyUserData", "VerifyCreditCardFormat", "CheckUserData", "CheckCreditCardData"
DEADLINE_S = 10.0


def fd_gate(held_per_order_max: int = 4, orders_max: int = 100) -> CausalGate[str]:
    return CausalGate(
        checkout.local_graph(Service.FRAUD_DETECTION), orders_max=orders_max, held_per_order_max=held_per_order_max
    )


def init(gate: CausalGate[str], order_id: str = "o1") -> None:
    assert gate.record(order_id, INIT, VectorClock.of({"fraud_detection": 1}), DEADLINE_S) == []


def test_an_event_whose_predecessors_happened_runs_at_once() -> None:
    gate = fd_gate()
    init(gate)
    gate.record("o1", B, VectorClock.of({"transaction_verification": 3}), DEADLINE_S)
    assert gate.offer("o1", D, DEADLINE_S, "d-request") is Delivery.RUN
    assert gate.inputs("o1", D) == VectorClock.of({"transaction_verification": 3, "fraud_detection": 1})


def test_out_of_order_e_before_d_waits_and_is_released_when_d_happens() -> None:
    gate = fd_gate()
    init(gate)
    # c's message reaches FD before b's: e's inputs are there, but d has not happened.
    gate.record("o1", C, VectorClock.of({"transaction_verification": 4}), DEADLINE_S)
    assert gate.offer("o1", E, DEADLINE_S, "e-request") is Delivery.HOLD
    assert gate.held("o1") == (E,)
    assert gate.missing("o1", E) == (D,)
    # b arrives, d runs; recording d releases e, with the payload it was held with.
    gate.record("o1", B, VectorClock.of({"transaction_verification": 3}), DEADLINE_S)
    assert gate.offer("o1", D, DEADLINE_S, "d-request") is Delivery.RUN
    d_stamp = VectorClock.of({"transaction_verification": 3, "fraud_detection": 2})
    released = gate.record("o1", D, d_stamp, DEADLINE_S)
    assert [(r.event, r.payload) for r in released] == [(E, "e-request")]
    assert gate.held("o1") == ()
    assert gate.inputs("o1", E) == VectorClock.of({"transaction_verification": 4, "fraud_detection": 2})


def test_an_event_waits_for_init_so_it_never_runs_without_the_order() -> None:
    gate = fd_gate()
    gate.record("o1", B, VectorClock.of({"transaction_verification": 2}), DEADLINE_S)
    assert gate.offer("o1", D, DEADLINE_S, "d") is Delivery.HOLD
    released = gate.record("o1", INIT, VectorClock.of({"fraud_detection": 1}), DEADLINE_S)
    assert [r.event for r in released] == [D]


def test_a_second_offer_or_record_is_a_duplicate() -> None:
    gate = fd_gate()
    init(gate)
    gate.record("o1", C, VectorClock.of({"transaction_verification": 4}), DEADLINE_S)
    assert gate.offer("o1", E, DEADLINE_S, "first") is Delivery.HOLD
    assert gate.offer("o1", E, DEADLINE_S, "second") is Delivery.DUPLICATE
    gate.record("o1", B, VectorClock.of({"transaction_verification": 3}), DEADLINE_S)
    assert gate.offer("o1", D, DEADLINE_S, "d") is Delivery.RUN
    assert gate.offer("o1", D, DEADLINE_S, "d again") is Delivery.DUPLICATE
    # A repeated message keeps the first stamp.
    assert gate.record("o1", B, VectorClock.of({"transaction_verification": 9}), DEADLINE_S) == []
    assert gate.happened("o1")[B] == VectorClock.of({"transaction_verification": 3})


def test_held_events_expire_at_their_deadline_with_what_they_waited_for() -> None:
    gate = fd_gate()
    init(gate)
    gate.record("o1", C, VectorClock.of({"transaction_verification": 4}), 5.0)
    gate.offer("o1", E, 5.0, "e")
    assert gate.expire(now_s=4.9) == []
    expired = gate.expire(now_s=5.0)
    assert [(x.order_id, x.event, x.payload, x.missing) for x in expired] == [("o1", E, "e", (D,))]
    assert gate.held("o1") == ()


def test_an_order_is_forgotten_once_its_deadline_passed() -> None:
    gate = fd_gate()
    init(gate)
    assert len(gate) == 1
    gate.expire(now_s=DEADLINE_S + 1)
    assert len(gate) == 0 and gate.happened("o1") == {}


def test_per_order_bound_on_held_events() -> None:
    graph = EventGraph({"x": frozenset({"p"}), "y": frozenset({"p"})})
    gate: CausalGate[str] = CausalGate(graph, orders_max=10, held_per_order_max=1)
    assert gate.offer("o1", "x", DEADLINE_S, "x") is Delivery.HOLD
    with pytest.raises(GateFull):
        gate.offer("o1", "y", DEADLINE_S, "y")
    assert gate.offer("o2", "y", DEADLINE_S, "y") is Delivery.HOLD  # the bound is per order


def test_bound_on_orders_tracked() -> None:
    gate = fd_gate(orders_max=2)
    init(gate, "o1")
    init(gate, "o2")
    with pytest.raises(GateFull):
        init(gate, "o3")
    gate.forget("o1")
    init(gate, "o3")


def test_forget_drops_held_events() -> None:
    gate = fd_gate()
    init(gate)
    gate.record("o1", C, VectorClock.of({"transaction_verification": 4}), DEADLINE_S)
    gate.offer("o1", E, DEADLINE_S, "e")
    assert gate.forget("o1") == [E]
    assert gate.expire(now_s=DEADLINE_S + 1) == []


def test_misuse_raises_clear_errors() -> None:
    gate = fd_gate()
    with pytest.raises(ValueError, match="does not run"):
        gate.offer("o1", "GetSuggestions", DEADLINE_S, "f")
    with pytest.raises(ValueError, match="unknown event"):
        gate.record("o1", "Nope", VectorClock(), DEADLINE_S)
    with pytest.raises(ValueError, match="cycle"):
        EventGraph({"x": frozenset({"y"}), "y": frozenset({"x"})})


def test_a_stamp_not_after_its_predecessors_is_a_bug() -> None:
    gate = fd_gate()
    init(gate)
    gate.record("o1", B, VectorClock.of({"transaction_verification": 3}), DEADLINE_S)
    gate.offer("o1", D, DEADLINE_S, "d")
    with pytest.raises(AssertionError):
        gate.record("o1", D, VectorClock.of({"transaction_verification": 1, "fraud_detection": 2}), DEADLINE_S)


def test_a_local_event_recorded_twice_is_a_bug() -> None:
    gate = fd_gate()
    init(gate)
    gate.record("o1", B, VectorClock.of({"transaction_verification": 3}), DEADLINE_S)
    gate.offer("o1", D, DEADLINE_S, "d")
    d_stamp = VectorClock.of({"transaction_verification": 3, "fraud_detection": 2})
    gate.record("o1", D, d_stamp, DEADLINE_S)
    with pytest.raises(AssertionError, match="recorded twice"):
        gate.record("o1", D, d_stamp.tick("fraud_detection"), DEADLINE_S)


@given(st.permutations(["init", "b-message", "c-message"]), st.booleans())
def test_any_arrival_order_runs_d_before_e_each_exactly_once(arrivals: list[str], offer_e_after_d: bool) -> None:
    """A model of fraud_detection's node: messages in any order; what the gate lets run is run at once."""
    gate = fd_gate()
    ran: list[str] = []
    fd_clock = VectorClock()

    def run(event: str) -> None:
        nonlocal fd_clock
        fd_clock = fd_clock.merge(gate.inputs("o1", event)).tick("fraud_detection")
        ran.append(event)
        for released in gate.record("o1", event, fd_clock, DEADLINE_S):
            run(released.event)
        if event == D and offer_e_after_d and gate.offer("o1", E, DEADLINE_S, "local") is Delivery.RUN:
            run(E)

    for arrival in arrivals:
        if arrival == "init":
            fd_clock = fd_clock.tick("fraud_detection")
            released = gate.record("o1", INIT, fd_clock, DEADLINE_S)
            offered: list[str] = []
        else:
            event, announced = (D, B) if arrival == "b-message" else (E, C)
            released = gate.record("o1", announced, VectorClock.of({"transaction_verification": 3}), DEADLINE_S)
            offered = [event] if gate.offer("o1", event, DEADLINE_S, arrival) is Delivery.RUN else []
        for item in released:
            run(item.event)
        for event in offered:
            run(event)
    assert ran == [D, E]
    stamps = gate.happened("o1")
    assert stamps[D] < stamps[E] and stamps[C] < stamps[E] and stamps[INIT] < stamps[D]
