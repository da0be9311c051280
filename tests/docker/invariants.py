"""docs/design.md §6's I1–I5 over one fault test's checkouts, checked against what the participants themselves hold
(tests/docker/probe.py, run inside the fleet). Each check returns its violations as sentences; empty = holds.

Checkouts with an attempt that may have run unseen (a lost answer) may have made an order the client never
learnt of: I1 then accepts any subset of their items as also sold, and nothing else.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tests.docker.orders import Placed

UNKNOWN_SUBSETS_MAX = 4096


@dataclass(frozen=True, slots=True)
class Outcome:
    """A test's record: what the client placed, each approved order's final record, what the participants hold."""

    placed: list[Placed]
    final: dict[str, dict[str, Any]]        # order id → GET /orders record (final state)
    not_final: list[str]                    # approved order ids still not final at the deadline
    stock_before: dict[str, dict[str, int]]
    facts: dict[str, Any]                   # probe.py's reply after the test: stock, payments, transactions


def committed_quantities(outcome: Outcome) -> Counter[str]:
    sold: Counter[str] = Counter()
    for placed in outcome.placed:
        if placed.order_id and outcome.final.get(placed.order_id, {}).get("state") == "COMMITTED":
            sold.update(placed.items)
    return sold


def subset_sums(deltas: list[int]) -> set[int] | None:
    sums = {0}
    for delta in deltas:
        sums |= {s + delta for s in sums}
        if len(sums) > UNKNOWN_SUBSETS_MAX:
            return None
    return sums


def check_conservation(outcome: Outcome) -> list[str]:
    """I1: stock before = stock after + Σ committed, per book (nothing else wrote stock meanwhile);
    and no copy is still reserved once every order ended."""
    problems = []
    sold = committed_quantities(outcome)
    maybe: dict[str, list[int]] = {}
    for placed in outcome.placed:
        for _ in range(placed.ambiguous_attempts):
            for book_id, quantity in placed.items.items():
                maybe.setdefault(book_id, []).append(quantity)
    for book_id, before in sorted(outcome.stock_before.items()):
        after = outcome.facts["stock"].get(book_id)
        if after is None:
            problems.append(f"I1 {book_id}: missing from the database after the test")
            continue
        unseen = before["stock"] - after["stock"] - sold[book_id]       # copies gone beyond the known sales
        sums = subset_sums(maybe.get(book_id, []))
        if unseen != 0 and (sums is None or unseen not in sums):
            problems.append(f"I1 {book_id}: before {before['stock']} ≠ after {after['stock']} + committed "
                            f"{sold[book_id]} (off by {unseen:+d})")
        if after["reserved"] != 0:
            problems.append(f"I1 {book_id}: {after['reserved']} copies still reserved after every order ended")
    return problems


def check_atomicity_and_exactly_once(outcome: Outcome) -> list[str]:
    """I2: COMMITTED ⇔ captured ⇔ decremented by exactly the order's items; ABORTED or REJECTED ⇒ neither.
    I4: one order per checkout, and the capture is the order's total once (not twice, not partly)."""
    problems = []
    ids = Counter(p.order_id for p in outcome.placed if p.order_id)
    problems += [f"I4 {order_id}: answered to {n} checkouts" for order_id, n in ids.items() if n > 1]
    for placed in outcome.placed:
        if not placed.order_id:
            continue
        order_id = placed.order_id
        state = outcome.final.get(order_id, {}).get("state") if placed.approved else "REJECTED"
        if state is None:
            continue                                   # I3 reports it
        payment = outcome.facts["payments"][order_id]
        tx = outcome.facts["transactions"][order_id]
        if state == "COMMITTED":
            if payment["state"] != "CAPTURED" or tx["state"] != "COMMITTED":
                problems.append(f"I2 {order_id}: COMMITTED but payment {payment['state']}, stock {tx['state']}")
            if tx["items"] != placed.items:
                problems.append(f"I2 {order_id}: ordered {placed.items}, the database decremented {tx['items']}")
            total = outcome.final[order_id].get("total")
            if total is not None and payment["amountCents"] != int(Decimal(total) * 100):
                problems.append(f"I4 {order_id}: captured {payment['amountCents']} cents for a total of {total}")
        elif payment["state"] not in ("NONE", "VOIDED") or tx["state"] not in ("NONE", "ABORTED"):
            problems.append(f"I2 {order_id}: {state} but payment {payment['state']}, stock {tx['state']}")
    return problems


def check_nothing_lost(outcome: Outcome) -> list[str]:
    """I3: every order answered as queued reached COMMITTED or ABORTED (by the caller's deadline)."""
    problems = [f"I3 {order_id}: not final by the deadline" for order_id in outcome.not_final]
    unanswered = [p.key for p in outcome.placed if not p.status]
    problems += [f"I3 checkout {key}: never answered" for key in unanswered]
    for placed in outcome.placed:
        if placed.approved and placed.order_id in outcome.final:
            state = outcome.final[placed.order_id]["state"]
            if state not in ("COMMITTED", "ABORTED"):
                problems.append(f"I3 {placed.order_id}: approved, then {state}")
    return problems


def check_no_oversell(outcome: Outcome) -> list[str]:
    """I5 (the general part): stock never below zero, reservations within stock."""
    problems = []
    for book_id, after in sorted(outcome.facts["stock"].items()):
        if after["stock"] < 0 or after["reserved"] < 0 or after["reserved"] > after["stock"]:
            problems.append(f"I5 {book_id}: on hand {after['stock']}, reserved {after['reserved']}")
    return problems


def check_last_copies(copies: int, burst: list[Placed], final: dict[str, dict[str, Any]],
                      stock_after: int) -> list[str]:
    """I5: concurrent checkouts of the last `copies` copies commit at most `copies`, exactly that many when
    no burst order aborted for a reason other than the stock, and leave on hand what was not sold."""
    states = [final.get(p.order_id or "", {}) for p in burst if p.approved]
    committed = sum(s.get("state") == "COMMITTED" for s in states)
    other_aborts = [s.get("reason", "") for s in states
                    if s.get("state") == "ABORTED" and "not enough stock" not in s.get("reason", "")]
    problems = []
    if committed > copies:
        problems.append(f"I5 last {copies} copies: {committed} orders committed")
    if not other_aborts and committed != min(copies, len(states)):
        problems.append(f"I5 last {copies} copies, {len(states)} approved buyers: {committed} committed")
    if stock_after != copies - committed:
        problems.append(f"I5 last {copies} copies: {stock_after} on hand after {committed} sold")
    return problems


def check_all(outcome: Outcome) -> list[str]:
    return [*check_conservation(outcome), *check_atomicity_and_exactly_once(outcome),
            *check_nothing_lost(outcome), *check_no_oversell(outcome)]
