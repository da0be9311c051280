"""I7: the run's stock reads, restocks and committed orders as a concurrent history of per-book counters,
checked for linearizability with the project's checker (utils.linearizability).

A read is ("read", book) → on hand; a restock ("add", book, +n); a committed order ("add", book, −n), open from
when the checkout was sent until its COMMITTED state was first seen. A write whose outcome is unknown (no
answer; an order still open) is open until infinity: it may have taken effect at any point, or never.
Aborted orders are left out: a reservation does not change the stock on hand.
"""

from __future__ import annotations

import math

from testing.evidence import ClientHistory
from testing.invariants import Violation, summed, unseen_orders
from utils.linearizability import CheckResult, Operation, check_operations_verbose, counter_model

CHECK_TIMEOUT_S = 30.0


def stock_operations(observed: ClientHistory) -> list[Operation]:
    operations: list[Operation] = []

    def add(input: tuple[object, ...], call: float, output: object, returned: float) -> None:
        operations.append(Operation(len(operations), input, call, output, returned))

    read_books = {r.book_id for r in observed.stock_reads}
    for read in observed.stock_reads:
        add(("read", read.book_id), read.call_s, read.quantity, read.return_s)
    for restock in observed.restocks:
        if restock.book_id in read_books:
            returned = restock.return_s if restock.acknowledged and restock.return_s is not None else math.inf
            add(("add", restock.book_id, restock.amount), restock.call_s, None, returned)
    for checkout in observed.checkouts:
        if checkout.order_id and checkout.answer.value == "approved":
            first = observed.first_final(checkout.order_id)
            if first is not None and first.state != "COMMITTED":
                continue  # aborted: the stock on hand never changed
            returned = first.seen_at_s if first is not None else math.inf
        elif unseen_orders(checkout):
            returned = math.inf
        else:
            continue
        for book_id, quantity in summed(checkout.items).items():
            if book_id in read_books:
                add(("add", book_id, -quantity), checkout.sent_at_s, None, max(returned, checkout.sent_at_s))
    return operations


def check_stock_reads(
    observed: ClientHistory, initial_stock: dict[str, int], timeout_s: float = CHECK_TIMEOUT_S
) -> tuple[list[Violation], str]:
    """(violations, a one-line verdict for the report)."""
    operations = stock_operations(observed)
    reads = sum(1 for o in operations if o.input[0] == "read")
    if not reads:
        return [], "no stock reads recorded"
    report = check_operations_verbose(counter_model(initial_stock), operations, timeout_s=timeout_s)
    if report.result is CheckResult.OK:
        return [], f"linearizable ({reads} reads, {len(operations) - reads} writes)"
    if report.result is CheckResult.UNKNOWN:
        return [], f"undecided within {timeout_s:.0f} s ({reads} reads, {len(operations) - reads} writes)"
    blocked = report.blocked
    subject = str(blocked.input[1]) if blocked is not None else "stock"
    return [
        Violation("I7", subject, report.message or "a stock read missed an acknowledged write")
    ], f"NOT linearizable ({reads} reads, {len(operations) - reads} writes)"
