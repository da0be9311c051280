"""docs/design.md §6's invariants I1–I7, checked over what the clients saw and what the participants hold after it
(testing/evidence.py) — the one checker of the chaos tool, the e2e tests and the container tests.

Pure: each check returns the violations it found (empty = holds). A participant that could not be read is
a violation too — an invariant that cannot be verified has not been shown to hold.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from testing.evidence import FINAL_STATES, UNREADABLE, Answer, CheckoutRecord, ClientHistory, Evidence

# How late after settle_s a final state may be seen and still count: the poller looks every ~0.5 s.
POLL_SLACK_S = 1.0
UNKNOWN_SUBSETS_MAX = 4096  # bound on the subset sums tracked for unknown-outcome writes per book

NAMES = {
    "I1": "conservation",
    "I2": "atomicity",
    "I3": "nothing lost",
    "I4": "exactly once",
    "I5": "no oversell",
    "I6": "one leader per term",
    "I7": "stock reads linearizable",
}


@dataclass(frozen=True, slots=True)
class Violation:
    invariant: str  # "I1" … "I7"
    subject: str  # a book id, an order id, "books_database term 4", …
    detail: str

    def describe(self) -> str:
        return f"{self.invariant} {NAMES[self.invariant]}: {self.subject}: {self.detail}"


def summed(items: Iterable[tuple[str, int]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for book_id, quantity in items:
        total[book_id] += quantity
    return dict(total)


def final_state(observed: ClientHistory, order_id: str) -> str | None:
    last = observed.last_state(order_id)
    return last.state if last is not None and last.state in FINAL_STATES else None


def committed_quantities(observed: ClientHistory) -> dict[str, int]:
    total: Counter[str] = Counter()
    for checkout in observed.approved():
        if final_state(observed, checkout.order_id or "") == "COMMITTED":
            total.update(summed(checkout.items))
    return dict(total)


# Refusals the API answers only when the order was not placed (docs/design.md §7: 503 "the order was not placed, try
# again"). Trusting them is checkable: an order placed after all would show in I1 as stock gone unaccounted.
NOT_PLACED_CODES = frozenset(
    {
        "DEPENDENCY_UNAVAILABLE",
        "QUEUE_FULL",
        "INVALID_REQUEST",
        "IDEMPOTENCY_KEY_IN_USE",
        "IDEMPOTENCY_KEY_REUSED",
        "PAYLOAD_TOO_LARGE",
    }
)


def maybe_placed(checkout: CheckoutRecord) -> bool:
    """No usable answer, so the order may exist (placed, then the answer was lost) or not."""
    if checkout.answer is Answer.NO_ANSWER:
        return True
    return (
        checkout.answer is Answer.REFUSED
        and (checkout.http_status or 500) >= 500
        and checkout.error_code not in NOT_PLACED_CODES
    )


def unseen_orders(checkout: CheckoutRecord) -> int:
    """How many orders this checkout may have made without the client learning of them."""
    return max(int(maybe_placed(checkout)), checkout.ambiguous_attempts)


def unknown_deltas(observed: ClientHistory) -> dict[str, list[int]]:
    """Per book, stock changes that may or may not have happened: unanswered restocks (+), and the
    items of orders that may exist without the client knowing their id (−)."""
    deltas: dict[str, list[int]] = defaultdict(list)
    for restock in observed.restocks:
        if not restock.acknowledged:
            deltas[restock.book_id].append(restock.amount)
    for checkout in observed.checkouts:
        for _ in range(unseen_orders(checkout)):
            for book_id, quantity in summed(checkout.items).items():
                deltas[book_id].append(-quantity)
    return deltas


def reachable_sums(deltas: list[int]) -> set[int] | None:
    """Every sum of a subset of `deltas`; None when there are too many to track (then nothing is concluded)."""
    sums = {0}
    for delta in deltas:
        sums |= {s + delta for s in sums}
        if len(sums) > UNKNOWN_SUBSETS_MAX:
            return None
    return sums


def acknowledged_restocks(observed: ClientHistory) -> dict[str, int]:
    total: Counter[str] = Counter()
    for restock in observed.restocks:
        if restock.acknowledged:
            total[restock.book_id] += restock.amount
    return dict(total)


def check_conservation(observed: ClientHistory, evidence: Evidence) -> list[Violation]:
    """I1: initial + restocks = on hand + committed, per book; and no copy is still reserved once all ended."""
    violations: list[Violation] = []
    committed = committed_quantities(observed)
    restocked = acknowledged_restocks(observed)
    unknown = unknown_deltas(observed)
    for book_id, initial in sorted(evidence.initial_stock.items()):
        final = evidence.final_stock.get(book_id)
        if final is None:
            violations.append(Violation("I1", book_id, "its stock could not be read after the run"))
            continue
        # final = initial + restocks + (the unknown changes that did happen) − committed
        needed = final.stock - initial - restocked.get(book_id, 0) + committed.get(book_id, 0)
        sums = reachable_sums(unknown.get(book_id, []))
        if sums is not None and needed not in sums:
            violations.append(
                Violation(
                    "I1",
                    book_id,
                    f"initial {initial} + restocked {restocked.get(book_id, 0)} ≠ on hand {final.stock} + committed "
                    f"{committed.get(book_id, 0)} (off by {needed:+d}"
                    + (
                        f"; {len(unknown[book_id])} writes of unknown outcome considered)"
                        if unknown.get(book_id)
                        else ")"
                    ),
                )
            )
        if final.reserved != 0:
            violations.append(
                Violation("I1", book_id, f"{final.reserved} copies still reserved after every order ended")
            )
    return violations


def check_atomicity(observed: ClientHistory, evidence: Evidence) -> list[Violation]:
    """I2: COMMITTED ⇔ payment captured ⇔ stock decremented (by exactly the order's items); ABORTED ⇒ neither."""
    violations: list[Violation] = []
    for checkout in observed.checkouts:
        order_id = checkout.order_id
        if not order_id or checkout.answer not in (Answer.APPROVED, Answer.REJECTED):
            continue
        state = final_state(observed, order_id) if checkout.answer is Answer.APPROVED else "REJECTED"
        if state is None:
            continue  # I3 reports it
        payment, tx = evidence.payments.get(order_id), evidence.transactions.get(order_id)
        if payment is None or tx is None:
            if checkout.answer is Answer.APPROVED:
                violations.append(Violation("I2", order_id, "its payment or transaction was not collected"))
            continue
        if UNREADABLE in (payment.state, tx.state):
            violations.append(Violation("I2", order_id, f"could not verify: payment {payment.state}, stock {tx.state}"))
            continue
        if state == "COMMITTED":
            if payment.state != "CAPTURED" or tx.state != "COMMITTED":
                violations.append(Violation("I2", order_id, f"COMMITTED but payment {payment.state}, stock {tx.state}"))
            elif summed(tx.items) != summed(checkout.items):
                violations.append(
                    Violation(
                        "I2",
                        order_id,
                        f"COMMITTED with items {summed(checkout.items)} "
                        f"but the database decremented {summed(tx.items)}",
                    )
                )
        else:  # ABORTED, or REJECTED at validation: nothing charged, nothing decremented, nothing left held
            if payment.state not in ("NONE", "VOIDED") or tx.state not in ("NONE", "ABORTED"):
                violations.append(Violation("I2", order_id, f"{state} but payment {payment.state}, stock {tx.state}"))
    return violations


def check_nothing_lost(observed: ClientHistory, evidence: Evidence) -> list[Violation]:
    """I3: every order answered as queued ends COMMITTED or ABORTED within settle_s of healing, and stays so;
    where the client retries until answered, every checkout is answered."""
    violations: list[Violation] = []
    if evidence.unanswered_is_lost:
        violations += [
            Violation("I3", f"checkout #{c.sequence}", "never answered")
            for c in observed.checkouts
            if c.answer is Answer.NO_ANSWER
        ]
    for checkout in observed.approved():
        order_id = checkout.order_id or ""
        # An order approved after the healing (the last-copies burst) gets settle_s from its approval.
        since_s = max(evidence.healed_at_s, checkout.answered_at_s)
        deadline_s = since_s + evidence.settle_s + POLL_SLACK_S
        first = observed.first_final(order_id)
        last = observed.last_state(order_id)
        if first is None:
            seen = last.state if last else "never seen"
            violations.append(Violation("I3", order_id, f"not final {evidence.settle_s:.0f} s after healing ({seen})"))
            continue
        if first.state not in ("COMMITTED", "ABORTED"):
            violations.append(Violation("I3", order_id, f"approved, then {first.state}"))
        if first.seen_at_s > deadline_s:
            violations.append(
                Violation(
                    "I3",
                    order_id,
                    f"final only {first.seen_at_s - since_s:.1f} s after healing (limit {evidence.settle_s:.0f} s)",
                )
            )
        if last is not None and last.state != first.state:
            violations.append(Violation("I3", order_id, f"was {first.state}, later {last.state}"))
    return violations


def _cents(total: str | None) -> int | None:
    try:
        return int((Decimal(total) * 100).to_integral_value()) if total else None
    except InvalidOperation:
        return None


def check_exactly_once(observed: ClientHistory, evidence: Evidence) -> list[Violation]:
    """I4: one order per checkout (retries with one Idempotency-Key answer the same order), one capture of
    the order's total; double decrements show as a stock deficit in I1."""
    violations: list[Violation] = []
    ids = Counter(c.order_id for c in observed.checkouts if c.order_id)
    for order_id, count in sorted(ids.items()):
        if count > 1:
            violations.append(Violation("I4", order_id, f"answered to {count} different checkouts"))
    for checkout in observed.checkouts:
        others = sorted({i for i in checkout.replayed_ids if i != checkout.order_id})
        if others:
            violations.append(
                Violation(
                    "I4",
                    checkout.order_id or f"checkout #{checkout.sequence}",
                    f"retries with the same Idempotency-Key answered other orders {others}",
                )
            )
    for checkout in observed.approved():
        order_id = checkout.order_id or ""
        last = observed.last_state(order_id)
        payment = evidence.payments.get(order_id)
        if last is None or last.state != "COMMITTED" or payment is None or payment.state != "CAPTURED":
            continue
        expected = _cents(last.total)
        if expected is not None and payment.amount_cents != expected:
            violations.append(
                Violation("I4", order_id, f"captured {payment.amount_cents} cents for a total of {last.total}")
            )
    return violations


def check_no_oversell(observed: ClientHistory, evidence: Evidence) -> list[Violation]:
    """I5: never below zero, never more committed than there were copies; the last k copies sell exactly k."""
    violations: list[Violation] = []
    committed = committed_quantities(observed)
    restocked = acknowledged_restocks(observed)
    maybe_restocked = Counter({b: sum(d for d in ds if d > 0) for b, ds in unknown_deltas(observed).items()})
    for book_id, final in sorted(evidence.final_stock.items()):
        if final.stock < 0 or final.reserved < 0 or final.reserved > final.stock:
            violations.append(Violation("I5", book_id, f"on hand {final.stock}, reserved {final.reserved}"))
        supply = evidence.initial_stock.get(book_id, 0) + restocked.get(book_id, 0) + maybe_restocked[book_id]
        if committed.get(book_id, 0) > supply:
            violations.append(Violation("I5", book_id, f"committed {committed[book_id]} copies of {supply}"))
    burst = evidence.last_copies
    if burst is not None:
        expected = min(burst.copies, burst.approved)
        if burst.committed > burst.copies:
            violations.append(
                Violation("I5", burst.book_id, f"last {burst.copies} copies: {burst.committed} committed")
            )
        elif burst.unfinished == 0 and burst.other_aborts == 0 and burst.committed != expected:
            violations.append(
                Violation(
                    "I5",
                    burst.book_id,
                    f"last {burst.copies} copies, {burst.approved} approved "
                    f"buyers: {burst.committed} committed, expected {expected}",
                )
            )
        if burst.unfinished == 0 and burst.final_stock != burst.copies - burst.committed:
            violations.append(
                Violation(
                    "I5",
                    burst.book_id,
                    f"last copies: {burst.final_stock} left on hand after {burst.committed} of {burst.copies} sold",
                )
            )
    return violations


def check_one_leader_per_term(observed: ClientHistory, evidence: Evidence) -> list[Violation]:
    """I6: no two replicas of a group ever claimed leadership in the same term; after healing every replica
    is back and the database replicas that applied the same log hold the same state."""
    violations: list[Violation] = []
    leaders: dict[tuple[str, int], set[str]] = defaultdict(set)
    for sample in observed.status_samples:
        if sample.role == "leader":
            leaders[(sample.group, sample.term)].add(sample.node_id)
    for (group, term), nodes in sorted(leaders.items()):
        if len(nodes) > 1:
            violations.append(Violation("I6", f"{group} term {term}", f"leaders {', '.join(sorted(nodes))}"))
    for replica in evidence.replicas:
        if not replica.reachable:
            violations.append(Violation("I6", f"{replica.group} {replica.node_id}", "not reachable after healing"))
    by_index: dict[tuple[str, int], set[str]] = defaultdict(set)
    for replica in evidence.replicas:
        if replica.reachable and replica.state_hash:
            by_index[(replica.group, replica.applied_index)].add(replica.state_hash)
    for (group, index), hashes in sorted(by_index.items()):
        if len(hashes) > 1:
            violations.append(
                Violation("I6", f"{group} index {index}", "replicas at the same index hold different state")
            )
    return violations


CHECKS: dict[str, Callable[[ClientHistory, Evidence], list[Violation]]] = {
    "I1": check_conservation,
    "I2": check_atomicity,
    "I3": check_nothing_lost,
    "I4": check_exactly_once,
    "I5": check_no_oversell,
    "I6": check_one_leader_per_term,
}


@dataclass(frozen=True, slots=True)
class Verdict:
    invariant: str
    violations: tuple[Violation, ...]

    @property
    def holds(self) -> bool:
        return not self.violations


def verdicts(
    observed: ClientHistory, evidence: Evidence, linearizability: list[Violation] | None = None
) -> list[Verdict]:
    """One verdict per invariant, I1 … I6, and I7 when its (precomputed) violations are given."""
    found = [Verdict(name, tuple(check(observed, evidence))) for name, check in CHECKS.items()]
    if linearizability is not None:
        found.append(Verdict("I7", tuple(linearizability)))
    return found


def check_all(
    observed: ClientHistory, evidence: Evidence, linearizability: list[Violation] | None = None
) -> list[Violation]:
    """Every violation of every invariant; I7 comes precomputed (chaos/stock_history.py), as its search can take
    a while."""
    return [v for verdict in verdicts(observed, evidence, linearizability) for v in verdict.violations]
