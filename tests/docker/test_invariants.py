"""The docker suite's invariant checks catch what they claim to (no Docker needed): each broken fact in an
otherwise clean record yields its invariant's violation, and the clean record yields none.
"""
from __future__ import annotations

import copy
from typing import Any

from tests.docker.invariants import Outcome, check_all, check_last_copies
from tests.docker.orders import APPROVED, Placed

BOOK = "book_101_clean_code"


def clean() -> Outcome:
    placed = [Placed({BOOK: 2}, order_id="a", status=APPROVED), Placed({BOOK: 1}, order_id="b", status=APPROVED),
              Placed({BOOK: 1}, order_id="r", status="Order Rejected")]
    final = {"a": {"state": "COMMITTED", "total": "69.98", "reason": ""},
             "b": {"state": "ABORTED", "total": "34.99", "reason": "payment_service voted abort"}}
    facts: dict[str, Any] = {
        "stock": {BOOK: {"stock": 38, "reserved": 0}},
        "payments": {"a": {"state": "CAPTURED", "amountCents": 6998}, "b": {"state": "VOIDED", "amountCents": 3499},
                     "r": {"state": "NONE", "amountCents": 0}},
        "transactions": {"a": {"state": "COMMITTED", "items": {BOOK: 2}}, "b": {"state": "ABORTED", "items": {BOOK: 1}},
                         "r": {"state": "NONE", "items": {}}},
    }
    return Outcome(placed, final, [], {BOOK: {"stock": 40, "reserved": 0}}, facts)


def broken(change: str) -> list[str]:
    outcome = clean()
    facts = copy.deepcopy(outcome.facts)
    if change == "stock off":
        facts["stock"][BOOK]["stock"] = 37
    elif change == "still reserved":
        facts["stock"][BOOK]["reserved"] = 1
    elif change == "committed, not captured":
        facts["payments"]["a"]["state"] = "VOIDED"
    elif change == "aborted, decremented":
        facts["transactions"]["b"]["state"] = "COMMITTED"
    elif change == "rejected, charged":
        facts["payments"]["r"]["state"] = "CAPTURED"
    elif change == "captured twice":
        facts["payments"]["a"]["amountCents"] = 2 * 6998
    elif change == "decremented twice":
        facts["transactions"]["a"]["items"] = {BOOK: 4}
    elif change == "below zero":
        facts["stock"][BOOK] = {"stock": -1, "reserved": 0}
    return check_all(Outcome(outcome.placed, outcome.final, outcome.not_final, outcome.stock_before, facts))


def test_a_clean_record_holds() -> None:
    assert check_all(clean()) == []


def test_each_broken_fact_is_caught_by_its_invariant() -> None:
    expected = {"stock off": "I1", "still reserved": "I1", "committed, not captured": "I2",
                "aborted, decremented": "I2", "rejected, charged": "I2", "captured twice": "I4",
                "decremented twice": "I2", "below zero": "I5"}
    for change, invariant in expected.items():
        problems = broken(change)
        assert any(p.startswith(invariant) for p in problems), f"{change}: {problems}"


def test_lost_and_unfinished_orders_fail_i3() -> None:
    outcome = clean()
    outcome.placed.append(Placed({BOOK: 1}))                       # never answered
    unfinished = Outcome(outcome.placed, outcome.final, ["c"], outcome.stock_before, outcome.facts)
    problems = check_all(unfinished)
    assert any(p.startswith("I3 c") for p in problems) and any("never answered" in p for p in problems)


def test_a_lost_answer_may_explain_missing_stock_but_nothing_else() -> None:
    outcome = clean()
    outcome.facts["stock"][BOOK]["stock"] = 37                     # one copy gone beyond the known sales
    outcome.placed.append(Placed({BOOK: 1}, order_id="c", status=APPROVED, ambiguous=["ReadTimeout"]))
    outcome.final["c"] = {"state": "ABORTED", "total": "34.99", "reason": ""}
    outcome.facts["payments"]["c"] = {"state": "VOIDED", "amountCents": 0}
    outcome.facts["transactions"]["c"] = {"state": "ABORTED", "items": {}}
    assert check_all(outcome) == []
    outcome.facts["stock"][BOOK]["stock"] = 36                     # two gone: more than the lost answer explains
    assert any(p.startswith("I1") for p in check_all(outcome))


def test_last_copies_sell_exactly_k() -> None:
    def burst(states: list[str]) -> tuple[list[Placed], dict[str, dict[str, Any]]]:
        placed = [Placed({BOOK: 1}, order_id=str(n), status=APPROVED) for n in range(len(states))]
        reasons = {"ABORTED": "books_database voted abort: not enough stock"}
        return placed, {str(n): {"state": s, "reason": reasons.get(s, "")} for n, s in enumerate(states)}

    ok = burst(["COMMITTED"] * 3 + ["ABORTED"] * 2)
    assert check_last_copies(3, *ok, stock_after=0) == []
    oversold = burst(["COMMITTED"] * 4 + ["ABORTED"])
    assert any("4 orders committed" in p for p in check_last_copies(3, *oversold, stock_after=-1))
    undersold = burst(["COMMITTED"] * 2 + ["ABORTED"] * 3)
    assert check_last_copies(3, *undersold, stock_after=1) != []
