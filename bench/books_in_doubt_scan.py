"""What the books primary's in-doubt list costs as its record of transactions grows: the PREPARED index against a
scan of every transaction ever seen (what the termination loop paid every 0.5 s before the index).

Fills one BooksStateMachine with N finished transactions and a few PREPARED ones, then times `in_doubt()` beside
the raw cost of the old way (a pass over every record, same run). In process, no fleet.

    .venv/bin/python -m bench.books_in_doubt_scan [--finished 1000,10000,100000] [--prepared 8]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from functools import partial

from bench.stamp import stamp
from books_database.core.commands import (
    Command,
    CommitTransaction,
    IncrementStock,
    Item,
    PrepareTransaction,
    encode_command,
)
from books_database.core.results import Transaction, TxState
from books_database.core.state_machine import BooksStateMachine
from utils.catalog import Book, Catalog

BOOK = Book("b", "Bench Book", "Ann", "x", Decimal("1.00"), 0)


def filled(finished: int, prepared: int) -> BooksStateMachine:
    machine = BooksStateMachine(Catalog((BOOK,)))
    index = 0

    def apply(command: Command) -> None:
        nonlocal index
        index += 1
        machine.apply(index, encode_command(command))

    apply(IncrementStock("b", finished + prepared))
    for n in range(finished + prepared):
        apply(PrepareTransaction.of(f"tx-{n:08d}", [Item("b", 1)], 1))
        if n < finished:
            apply(CommitTransaction(f"tx-{n:08d}", 1))
    return machine


def scan(records: list[Transaction | None]) -> list[Transaction]:
    """The old in_doubt: a pass over every transaction on record."""
    return [t for t in records if t is not None and t.state is TxState.PREPARED]


def per_call_us(fn: Callable[[], object], budget_s: float = 0.5) -> float:
    calls, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < budget_s:
        fn()
        calls += 1
    return elapsed / calls * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--finished", default="1000,10000,100000", help="finished transactions on record, one run each")
    parser.add_argument("--prepared", type=int, default=8, help="PREPARED ones among them")
    args = parser.parse_args()
    print(f"start: {stamp()}")
    print(f"{'finished':>10} {'in_doubt() µs':>14} {'scan of every record µs':>24}  (prepared: {args.prepared})")
    for finished in (int(n) for n in args.finished.split(",")):
        machine = filled(finished, args.prepared)
        records = [machine.transaction(f"tx-{n:08d}") for n in range(finished + args.prepared)]
        assert len(machine.in_doubt()) == args.prepared

        print(f"{finished:>10} {per_call_us(machine.in_doubt):>14.1f} {per_call_us(partial(scan, records)):>24.1f}")
    print(f"end: {stamp()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
