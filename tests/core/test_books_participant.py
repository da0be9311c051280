"""The books participant's table in the shared form, and the stock it reserves from, each on its own.

The behaviour through the replicated state machine is tests/core/test_books_state_machine.py (docs/design.md §4).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from books_database.core.commands import AbortTransaction, CommitTransaction, DecrementStock, Item, PrepareTransaction
from books_database.core.participant import NO_OPS, PARTICIPANT_TABLE, BooksParticipant, Effect, Kind, Phase
from books_database.core.results import Reason, Refused, StockChanged, TransactionEnded, TxState, Vote
from books_database.core.stock import Stock
from utils.catalog import Book, Catalog
from utils.twopc.core.participant import ParticipantTable, Rule, TableError, table_problems

CATALOG = Catalog((Book("a", "Book A", "Ann", "x", Decimal("10.50"), 5),))


def test_rule_totality_every_state_and_message_has_a_rule() -> None:
    assert set(PARTICIPANT_TABLE) == {(s, k) for s in Phase for k in Kind}
    assert table_problems(PARTICIPANT_TABLE, Phase, Kind, Phase.NONE, NO_OPS) == []


def test_rule_totality_a_missing_pair_fails_the_check() -> None:
    broken = {pair: rule for pair, rule in PARTICIPANT_TABLE.items() if pair != (Phase.COMMITTED, Kind.COMMIT)}
    with pytest.raises(TableError, match=r"no rule for \(Phase.COMMITTED, Kind.COMMIT\)"):
        ParticipantTable(broken, tuple(Phase), tuple(Kind), never_seen=Phase.NONE, no_ops=NO_OPS)


def test_rule_a_repeated_commit_that_decrements_again_fails_the_check() -> None:
    broken = {**PARTICIPANT_TABLE, (Phase.COMMITTED, Kind.COMMIT): Rule(Effect.CONSUME, Phase.COMMITTED)}
    assert any("applies Effect.CONSUME again" in p for p in table_problems(broken, Phase, Kind, Phase.NONE, NO_OPS))


def test_rule_the_never_seen_state_has_no_record() -> None:
    participant, stock = BooksParticipant(), Stock.seed(CATALOG)
    assert isinstance(participant.step(CommitTransaction("ghost", 1), stock), Refused)
    assert participant.transaction("ghost") is None


def test_participant_prepare_commit_against_the_stock() -> None:
    participant, stock = BooksParticipant(), Stock.seed(CATALOG)
    prepare = PrepareTransaction.of("t1", [Item("a", 2)], 1)
    assert participant.step(prepare, stock) == Vote("t1", True, TxState.PREPARED, (Item("a", 2),))
    assert participant.reserved_by_book() == {"a": 2} and stock.book("a").available == 3  # type: ignore[union-attr]
    assert participant.step(CommitTransaction("t1", 1), stock) == TransactionEnded("t1", TxState.COMMITTED)
    assert participant.step(CommitTransaction("t1", 1), stock) == TransactionEnded("t1", TxState.COMMITTED)
    assert stock.conservation("a") == (5, 0, 3, 2)
    stock.check_invariants(participant.reserved_by_book())


def test_participant_fence_refuses_an_older_term_and_changes_nothing() -> None:
    participant, stock = BooksParticipant(), Stock.seed(CATALOG)
    participant.step(PrepareTransaction.of("t1", [Item("a", 1)], 4), stock)
    result = participant.step(AbortTransaction("t1", 3), stock)
    assert result == Refused(Reason.STALE_TERM, "coordinator term 3 is older than 4, the newest seen")
    assert participant.transaction("t1").state is TxState.PREPARED  # type: ignore[union-attr]
    assert participant.highest_coordinator_term == 4


def test_stock_never_below_zero_and_shortfall_names_the_first_failing_item() -> None:
    stock = Stock.seed(CATALOG)
    stock.reserve([Item("a", 4)])
    assert stock.shortfall([Item("a", 1)]) is None
    assert stock.shortfall([Item("a", 2)]) == (Reason.INSUFFICIENT_STOCK, "a: 2 asked, 1 available")
    assert stock.shortfall([Item("zz", 1), Item("a", 9)]) == (Reason.UNKNOWN_BOOK, "no book with id 'zz'")
    assert stock.write(DecrementStock("a", 2)) == StockChanged("a", False, 5, 4, Reason.INSUFFICIENT_STOCK)
    with pytest.raises(AssertionError):
        stock.reserve([Item("a", 2)])  # available would go below 0
