"""The books database's state machine, with no Raft underneath: stock writes, the 2PC participant table, fencing.

Each test names the rule it checks (docs/design.md §4, §6); a property test compares with a naive model.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from books_database.core.commands import (
    AbortTransaction,
    Command,
    CommandError,
    CommitTransaction,
    DecrementStock,
    IncrementStock,
    Item,
    PrepareTransaction,
    decode_command,
    encode_command,
)
from books_database.core.participant import PARTICIPANT_TABLE, Kind, Phase
from books_database.core.results import Reason, Refused, StockChanged, TransactionEnded, TxState, Vote
from books_database.core.state_machine import REQUESTS_REMEMBERED_MAX, BooksStateMachine
from utils.catalog import Book, Catalog
from utils.catalog.file import load_catalog

CATALOG = Catalog(
    (
        Book("a", "Book A", "Ann", "x", Decimal("10.50"), 5),
        Book("b", "Book B", "Bob", "y", Decimal("20.00"), 2),
    )
)


class Machine:
    """Drives the state machine through its byte interface, as the Raft runtime does."""

    def __init__(self, catalog: Catalog = CATALOG) -> None:
        self.sm = BooksStateMachine(catalog)
        self.index = 0

    def __call__(self, command: Command) -> Any:
        self.index += 1
        result = self.sm.apply(self.index, encode_command(command))
        self.sm.check_invariants()
        return result

    def available(self, book_id: str) -> int:
        book = self.sm.book(book_id)
        assert book is not None
        return book.available


def prepare(tx: str, term: int = 1, **items: int) -> PrepareTransaction:
    return PrepareTransaction.of(tx, [Item(b, q) for b, q in items.items()], term)


# ---- seed and stock writes ---------------------------------------------------------------------


def test_seed_is_the_catalog_and_identical_on_every_replica() -> None:
    one, two = BooksStateMachine(load_catalog()), BooksStateMachine(load_catalog())
    assert one.state_hash() == two.state_hash()
    book = one.books()[0]
    catalog_book = load_catalog().books[0]
    assert (book.id, book.stock, book.reserved, book.price) == (
        catalog_book.id,
        catalog_book.initial_stock,
        0,
        str(catalog_book.price),
    )
    assert len(one.books()) == len(load_catalog().books)


def test_decrement_below_zero_fails_cleanly_and_changes_nothing() -> None:
    m = Machine()
    before = m.sm.state_hash()
    result = m(DecrementStock("b", 3))
    assert result == StockChanged("b", False, 2, 0, Reason.INSUFFICIENT_STOCK)
    assert m.sm.state_hash() == before
    assert m(DecrementStock("b", 2)) == StockChanged("b", True, 0, 0)
    assert m(DecrementStock("b", 1)).ok is False


def test_increment_restocks_and_conservation_counts_it() -> None:
    m = Machine()
    assert m(IncrementStock("a", 4)) == StockChanged("a", True, 9, 0)
    m(DecrementStock("a", 3))
    assert m.sm.conservation("a") == (5, 4, 6, 3)  # I1: 5 + 4 == 6 + 3


def test_stock_write_on_an_unknown_book_is_refused() -> None:
    m = Machine()
    assert m(DecrementStock("zzz", 1)) == Refused(Reason.UNKNOWN_BOOK, "no book with id 'zzz'")


def test_decrement_cannot_take_reserved_copies() -> None:
    m = Machine()
    assert isinstance(m(prepare("t1", b=2)), Vote)
    assert m(DecrementStock("b", 1)) == StockChanged("b", False, 2, 2, Reason.INSUFFICIENT_STOCK)


def test_a_retried_stock_write_with_the_same_request_id_applies_once() -> None:
    m = Machine()
    first = m(DecrementStock("a", 2, request_id="r1"))
    again = m(DecrementStock("a", 2, request_id="r1"))
    assert first == again == StockChanged("a", True, 3, 0)
    assert m.available("a") == 3
    assert m(DecrementStock("a", 1, request_id="r1")) == Refused(
        Reason.CONFLICT, "request id 'r1' was used for another write"
    )


def test_remembered_request_ids_are_bounded_oldest_first() -> None:
    m = Machine()
    for n in range(REQUESTS_REMEMBERED_MAX + 1):
        m.sm.execute(IncrementStock("a", 1, request_id=f"r{n}"))
    stock = m.sm.book("a").stock  # type: ignore[union-attr]
    newest = f"r{REQUESTS_REMEMBERED_MAX}"
    assert m.sm.execute(IncrementStock("a", 1, request_id=newest)).stock == stock  # type: ignore[union-attr]
    assert m.sm.execute(IncrementStock("a", 1, request_id="r0")).stock == stock + 1  # type: ignore[union-attr]


# ---- 2PC participant: votes ---------------------------------------------------------------------


def test_prepare_reserves_and_votes_commit() -> None:
    m = Machine()
    vote = m(prepare("t1", a=2, b=1))
    assert vote == Vote("t1", True, TxState.PREPARED, (Item("a", 2), Item("b", 1)))
    assert (m.available("a"), m.sm.book("a").stock) == (3, 5)  # type: ignore[union-attr]


def test_vote_abort_reason_unknown_book() -> None:
    m = Machine()
    vote = m(prepare("t1", a=1, nope=1))
    assert isinstance(vote, Vote) and not vote.commit and vote.reason is Reason.UNKNOWN_BOOK
    assert m.available("a") == 5  # nothing reserved: all items or none


def test_vote_abort_reason_not_enough_available_stock() -> None:
    m = Machine()
    m(prepare("t1", b=2))
    vote = m(prepare("t2", a=1, b=1))
    assert isinstance(vote, Vote) and not vote.commit and vote.reason is Reason.INSUFFICIENT_STOCK
    assert "1 asked, 0 available" in vote.detail
    assert (m.available("a"), m.available("b")) == (5, 0)
    assert m.sm.transaction("t2").state is TxState.ABORTED  # type: ignore[union-attr]


def test_vote_abort_is_replayed_not_retried() -> None:
    m = Machine()
    m(DecrementStock("b", 2))
    assert m(prepare("t1", b=1)).reason is Reason.INSUFFICIENT_STOCK
    m(IncrementStock("b", 5))
    again = m(prepare("t1", b=1))
    assert isinstance(again, Vote) and not again.commit and again.reason is Reason.INSUFFICIENT_STOCK


def test_prepare_twice_reserves_once() -> None:
    m = Machine()
    first, second = m(prepare("t1", a=2)), m(prepare("t1", a=2))
    assert first == second and isinstance(first, Vote) and first.commit
    assert m.available("a") == 3


def test_prepare_again_with_other_items_is_a_conflict() -> None:
    m = Machine()
    m(prepare("t1", a=2))
    assert m(prepare("t1", a=3)) == Refused(Reason.CONFLICT, "t1 was prepared with other items")
    assert m.available("a") == 3


# ---- 2PC participant: decisions -----------------------------------------------------------------


def test_commit_turns_the_reservation_into_a_decrement() -> None:
    m = Machine()
    m(prepare("t1", a=2))
    assert m(CommitTransaction("t1", 1)) == TransactionEnded("t1", TxState.COMMITTED)
    book = m.sm.book("a")
    assert book is not None and (book.stock, book.reserved) == (3, 0)
    assert m.sm.conservation("a") == (5, 0, 3, 2)


def test_commit_twice_decrements_once() -> None:
    m = Machine()
    m(prepare("t1", a=2))
    m(CommitTransaction("t1", 1))
    assert m(CommitTransaction("t1", 1)) == TransactionEnded("t1", TxState.COMMITTED)
    assert m.sm.book("a").stock == 3  # type: ignore[union-attr]


def test_abort_releases_the_reservation() -> None:
    m = Machine()
    m(prepare("t1", a=2))
    assert m(AbortTransaction("t1", 1)) == TransactionEnded("t1", TxState.ABORTED)
    assert (m.available("a"), m.sm.book("a").stock) == (5, 5)  # type: ignore[union-attr]
    assert m(AbortTransaction("t1", 1)) == TransactionEnded("t1", TxState.ABORTED)
    assert m.available("a") == 5


def test_abort_after_commit_is_ignored() -> None:
    m = Machine()
    m(prepare("t1", a=2))
    m(CommitTransaction("t1", 1))
    assert m(AbortTransaction("t1", 1)) == TransactionEnded("t1", TxState.COMMITTED)
    assert m.sm.book("a").stock == 3  # type: ignore[union-attr]


def test_commit_after_abort_is_refused() -> None:
    m = Machine()
    m(prepare("t1", a=2))
    m(AbortTransaction("t1", 1))
    assert m(CommitTransaction("t1", 1)) == Refused(Reason.CONFLICT, "t1 is aborted; it cannot commit")
    assert m.sm.book("a").stock == 5  # type: ignore[union-attr]


def test_stale_prepare_after_abort_is_refused_and_reserves_nothing() -> None:
    m = Machine()
    m(prepare("t1", a=2))
    m(AbortTransaction("t1", 1))
    vote = m(prepare("t1", a=2))
    assert isinstance(vote, Vote) and not vote.commit and vote.reason is Reason.ALREADY_ABORTED
    assert m.available("a") == 5


def test_presumed_abort_before_prepare_refuses_the_late_prepare() -> None:
    m = Machine()
    assert m(AbortTransaction("t1", 1)) == TransactionEnded("t1", TxState.ABORTED)
    vote = m(prepare("t1", a=2))
    assert isinstance(vote, Vote) and not vote.commit and vote.reason is Reason.ALREADY_ABORTED
    assert m.available("a") == 5


def test_commit_of_a_transaction_never_prepared_is_refused() -> None:
    m = Machine()
    result = m(CommitTransaction("ghost", 1))
    assert isinstance(result, Refused) and result.reason is Reason.UNKNOWN_TRANSACTION
    assert m.sm.transaction("ghost") is None


def test_commit_after_a_late_duplicate_prepare_still_decrements_once() -> None:
    m = Machine()
    m(prepare("t1", a=1))
    m(CommitTransaction("t1", 1))
    replay = m(prepare("t1", a=1))
    assert isinstance(replay, Vote) and replay.commit and replay.state is TxState.COMMITTED
    assert (m.sm.book("a").stock, m.available("a")) == (4, 4)  # type: ignore[union-attr]


# ---- fencing by coordinator term ----------------------------------------------------------------


def test_fencing_refuses_an_older_coordinator_term() -> None:
    m = Machine()
    m(prepare("t1", term=3, a=1))
    before = m.sm.state_hash()
    for stale in (prepare("t2", term=2, a=1), CommitTransaction("t1", 2), AbortTransaction("t1", 2)):
        result = m(stale)
        assert isinstance(result, Refused) and result.reason is Reason.STALE_TERM
    assert m.sm.state_hash() == before
    assert m(CommitTransaction("t1", 3)) == TransactionEnded("t1", TxState.COMMITTED)


def test_a_newer_term_raises_the_fence_for_every_transaction() -> None:
    m = Machine()
    m(prepare("t1", term=1, a=1))
    m(prepare("t2", term=4, b=1))
    assert m.sm.highest_coordinator_term == 4
    assert m(AbortTransaction("t1", 1)).reason is Reason.STALE_TERM
    assert m(AbortTransaction("t1", 5)) == TransactionEnded("t1", TxState.ABORTED)
    assert m.sm.transaction("t1").coordinator_term == 5  # type: ignore[union-attr]


# ---- the table, snapshots, encoding ------------------------------------------------------------


def test_the_participant_table_covers_every_state_and_step() -> None:
    states = [Phase.NONE, *(Phase(s.value) for s in TxState)]  # NONE: the never-seen state
    assert len(PARTICIPANT_TABLE) == len(states) * len(Kind)
    # A participant that voted COMMIT never aborts on its own: from PREPARED only an Abort leads to ABORTED.
    assert {
        kind.value
        for (state, kind), rule in PARTICIPANT_TABLE.items()
        if state is Phase.PREPARED and rule.next_state is Phase.ABORTED
    } == {"ABORT"}


def test_snapshot_restore_gives_an_equal_state_with_reservations() -> None:
    m = Machine()
    m(prepare("t1", a=2))
    m(prepare("t2", b=5))
    m(DecrementStock("a", 1, request_id="r"))
    m(AbortTransaction("gone", 2))
    copy = BooksStateMachine(Catalog(()))
    copy.restore(m.sm.snapshot())
    assert copy.state_hash() == m.sm.state_hash()
    assert copy.applied_index == m.index
    assert copy.book("a").reserved == 2  # type: ignore[union-attr]
    # The restored copy replays a request id and fences like the original.
    assert copy.execute(DecrementStock("a", 1, request_id="r")) == StockChanged("a", True, 4, 2)
    assert copy.execute(CommitTransaction("t1", 1)).reason is Reason.STALE_TERM  # type: ignore[union-attr]


def test_a_malformed_log_entry_is_refused_the_same_way_everywhere() -> None:
    sm = BooksStateMachine(CATALOG)
    before = sm.state_hash()
    result = sm.apply(1, b'{"kind":"explode"}')
    assert isinstance(result, Refused) and result.reason is Reason.MALFORMED_COMMAND
    assert sm.state_hash() == before


def test_the_log_cannot_go_backwards() -> None:
    sm = BooksStateMachine(CATALOG)
    sm.apply(5, encode_command(IncrementStock("a", 1)))
    with pytest.raises(AssertionError):
        sm.apply(5, encode_command(IncrementStock("a", 1)))


@pytest.mark.parametrize(
    "command",
    [
        DecrementStock("a", 1, "r"),
        IncrementStock("b", 7),
        prepare("t", term=2, b=1, a=3),
        CommitTransaction("t", 9),
        AbortTransaction("t", 0),
    ],
)
def test_commands_round_trip_through_bytes(command: object) -> None:
    assert decode_command(encode_command(command)) == command  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "build",
    [
        lambda: DecrementStock("a", 0),
        lambda: IncrementStock("a", -1),
        lambda: DecrementStock("", 1),
        lambda: PrepareTransaction("t", (), 1),
        lambda: PrepareTransaction("t", (Item("b", 1), Item("a", 1)), 1),
        lambda: CommitTransaction("t", -1),
        lambda: Item("a", True),
    ],
)
def test_bad_commands_are_a_clear_error(build: object) -> None:
    with pytest.raises(CommandError):
        build()  # type: ignore[operator]


def test_prepare_of_merges_repeated_books() -> None:
    assert PrepareTransaction.of("t", [Item("b", 1), Item("a", 1), Item("b", 2)], 1).items == (
        Item("a", 1),
        Item("b", 3),
    )


# ---- property: the machine agrees with a naive model ------------------------------------------

_ops = st.lists(
    st.one_of(
        st.tuples(st.just("dec"), st.sampled_from("ab"), st.integers(1, 4)),
        st.tuples(st.just("inc"), st.sampled_from("ab"), st.integers(1, 4)),
        st.tuples(st.just("prepare"), st.sampled_from(["t1", "t2", "t3"]), st.sampled_from("ab"), st.integers(1, 3)),
        st.tuples(st.just("commit"), st.sampled_from(["t1", "t2", "t3"])),
        st.tuples(st.just("abort"), st.sampled_from(["t1", "t2", "t3"])),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(_ops)
def test_property_matches_a_naive_model(ops: list[tuple]) -> None:  # type: ignore[type-arg]
    m = Machine()
    stock = {"a": 5, "b": 2}
    txs: dict[str, tuple[str, str, int]] = {}  # tx -> (state, book, qty)

    def reserved(book: str) -> int:
        return sum(q for s, b, q in txs.values() if s == "P" and b == book)

    for op in ops:
        result = m(_command(op))
        kind = op[0]
        if kind == "dec":
            ok = stock[op[1]] - reserved(op[1]) >= op[2]
            assert result.ok is ok
            stock[op[1]] -= op[2] if ok else 0
        elif kind == "inc":
            stock[op[1]] += op[2]
        elif kind == "prepare" and op[1] not in txs:
            ok = stock[op[2]] - reserved(op[2]) >= op[3]
            assert result.commit is ok
            txs[op[1]] = ("P" if ok else "A", op[2], op[3])
        elif kind == "commit" and op[1] in txs and txs[op[1]][0] == "P":
            _, book, qty = txs[op[1]]
            stock[book] -= qty
            txs[op[1]] = ("C", book, qty)
        elif kind == "abort":
            state, book, qty = txs.get(op[1], ("A", "a", 0))
            txs[op[1]] = (state if state == "C" else "A", book, qty)
        for book in "ab":
            view = m.sm.book(book)
            assert view is not None and (view.stock, view.reserved) == (stock[book], reserved(book))
        # The in-doubt list (kept as an index beside the full record) is exactly the PREPARED transactions.
        prepared = sorted(tx for tx, (state, _, _) in txs.items() if state == "P")
        assert [t.tx_id for t in m.sm.in_doubt()] == prepared
    # A replica restored from a snapshot rebuilds the same index.
    restored = BooksStateMachine(CATALOG)
    restored.restore(m.sm.snapshot())
    assert restored.in_doubt() == m.sm.in_doubt()


def _command(op: tuple) -> Command:  # type: ignore[type-arg]
    if op[0] == "dec":
        return DecrementStock(op[1], op[2])
    if op[0] == "inc":
        return IncrementStock(op[1], op[2])
    if op[0] == "prepare":
        return prepare(op[1], **{op[2]: op[3]})
    return (CommitTransaction if op[0] == "commit" else AbortTransaction)(op[1], 1)
