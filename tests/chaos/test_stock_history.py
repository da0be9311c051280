"""I7 over a recorded run: the stock reads, restocks and committed orders as a history of per-book counters."""

from __future__ import annotations

import dataclasses

from chaos.stock_history import check_stock_reads
from testing.evidence import Answer, StockRead
from tests.chaos.builders import BOOK, checkout, clean_run


def test_a_clean_run_is_linearizable() -> None:
    run, evidence = clean_run()
    assert check_stock_reads(run, evidence.initial_stock)[0] == []


def test_I7_catches_a_stale_read() -> None:
    run, evidence = clean_run()
    # After o1 was seen COMMITTED (t=2.0) and the restock acknowledged (t=3.1), a read still shows 10.
    stale = dataclasses.replace(run, stock_reads=(*run.stock_reads, StockRead(BOOK, 4.0, 4.1, 10)))
    violations, verdict = check_stock_reads(stale, evidence.initial_stock)
    assert [v.invariant for v in violations] == ["I7"] and verdict.startswith("NOT linearizable")


def test_I7_lets_an_unanswered_order_take_effect_or_not() -> None:
    run, evidence = clean_run()
    unknown = checkout(4, None, 1, Answer.NO_ANSWER, sent=2.2, answered=3.0)
    maybe = dataclasses.replace(
        run, checkouts=(*run.checkouts, unknown), stock_reads=(*run.stock_reads, StockRead(BOOK, 5.0, 5.1, 10))
    )
    assert check_stock_reads(maybe, evidence.initial_stock)[0] == []
