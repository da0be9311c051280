"""The checkout flow's partial order (docs/design.md §3) and each service's projection of it."""

from __future__ import annotations

from utils.flow.core import checkout
from utils.flow.core.checkout import INIT, START, Service


def _before(later: str) -> set[str]:
    """Every event that must happen before `later` (transitively)."""
    found: set[str] = set()
    pending = list(checkout.event(later).predecessors)
    while pending:
        name = pending.pop()
        if name not in found:
            found.add(name)
            pending.extend(checkout.event(name).predecessors)
    return found


def test_the_partial_order_of_design_section_3() -> None:
    a, b, c, d, e, f = (
        "VerifyItems",
        "VerifyUserData",
        "VerifyCreditCardFormat",
        "CheckUserData",
        "CheckCreditCardData",
        "GetSuggestions",
    )
    assert a not in _before(b) and b not in _before(a)  # a and b are concurrent
    assert _before(c) == {START, a}
    assert _before(d) == {START, b}
    assert _before(e) == {START, a, b, c, d}
    assert _before(f) == {START, a, b, c, d, e}
    assert checkout.is_last(f) and not checkout.is_last(e)


def test_each_service_runs_its_events_after_its_own_init() -> None:
    graph = checkout.local_graph(Service.FRAUD_DETECTION)
    assert graph.predecessors == {
        "CheckUserData": frozenset({"VerifyUserData", INIT}),
        "CheckCreditCardData": frozenset({"VerifyCreditCardFormat", "CheckUserData", INIT}),
    }


def test_messages_start_the_events_that_wait_on_another_service() -> None:
    assert checkout.message_events(Service.TRANSACTION_VERIFICATION) == ("VerifyItems", "VerifyUserData")
    assert checkout.message_events(Service.FRAUD_DETECTION) == ("CheckUserData", "CheckCreditCardData")
    assert checkout.message_events(Service.SUGGESTIONS) == ("GetSuggestions",)
    assert checkout.message_announces("CheckCreditCardData") == "VerifyCreditCardFormat"
    assert checkout.message_announces("VerifyItems") == START
