"""The books database's stock: copies on hand and reserved per book; available = on hand − reserved, never below 0.

PURE: restock / decrement (once per request id), and the reserve / release / consume the 2PC participant asks for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from books_database.core.commands import DecrementStock, Item, StockCommand, command_to_json
from books_database.core.results import BookView, Reason, Refused, StockChanged
from utils.catalog import Catalog

# The window of remembered stock-write request ids (docs/operations.md): the last this many writes that carried a
# request id keep their result, in log order on every replica and in snapshots, so a retry with the same id is
# answered instead of applied again. A retry that arrives after this many other such writes falls outside the window
# and is applied anew; clients retry within seconds (utils/rpc retry budget), far inside it. About 200 B per entry.
REQUESTS_REMEMBERED_MAX = 10_000


@dataclass(frozen=True, slots=True)
class Row:
    """One book and its stock counters. I1: initial_stock + restocked == stock + sold."""

    book: BookView
    initial_stock: int
    restocked: int = 0  # Σ IncrementStock
    sold: int = 0  # Σ DecrementStock + Σ committed quantities


def unknown_book(book_id: str) -> tuple[Reason, str]:
    return Reason.UNKNOWN_BOOK, f"no book with id {book_id!r}"


class Stock:
    """Every book's counters, plus the results of recent stock writes by request id. Not thread-safe."""

    def __init__(self, rows: Iterable[Row], requests: Iterable[tuple[str, dict[str, Any], StockChanged]] = ()) -> None:
        self._rows: dict[str, Row] = {row.book.id: row for row in rows}
        self._requests: dict[str, tuple[dict[str, Any], StockChanged]] = {r: (c, res) for r, c, res in requests}

    @classmethod
    def seed(cls, catalog: Catalog) -> Stock:
        """The state before log index 1, identical on every replica: no per-replica writes."""
        return cls(
            Row(
                BookView(b.id, b.title, b.author, b.category, str(b.price), b.initial_stock, 0),
                initial_stock=b.initial_stock,
            )
            for b in catalog.books
        )

    # ---- stock writes ---------------------------------------------------------------------------

    def write(self, command: StockCommand) -> StockChanged | Refused:
        if command.request_id and command.request_id in self._requests:
            seen_command, seen_result = self._requests[command.request_id]
            if seen_command != command_to_json(command):
                return Refused(Reason.CONFLICT, f"request id {command.request_id!r} was used for another write")
            return seen_result  # Raft §8: a retried write is answered, not applied again
        row = self._rows.get(command.book_id)
        if row is None:
            return Refused(*unknown_book(command.book_id))
        if isinstance(command, DecrementStock):
            if row.book.available < command.amount:
                result = StockChanged(row.book.id, False, row.book.stock, row.book.reserved, Reason.INSUFFICIENT_STOCK)
            else:
                row = self._put(row, stock_delta=-command.amount, sold=command.amount)
                result = StockChanged(row.book.id, True, row.book.stock, row.book.reserved)
        else:
            row = self._put(row, stock_delta=command.amount, restocked=command.amount)
            result = StockChanged(row.book.id, True, row.book.stock, row.book.reserved)
        if command.request_id:
            self._remember(command, result)
        return result

    def _remember(self, command: StockCommand, result: StockChanged) -> None:
        self._requests[command.request_id] = (command_to_json(command), result)
        if len(self._requests) > REQUESTS_REMEMBERED_MAX:
            del self._requests[next(iter(self._requests))]  # the oldest: insertion order is log order

    # ---- what the 2PC participant asks for (docs/design.md §4 "books database as a participant") -------

    def shortfall(self, items: Iterable[Item]) -> tuple[Reason, str] | None:
        """Why these items cannot all be reserved (the first item that fails), or None when they can."""
        for item in items:
            row = self._rows.get(item.book_id)
            if row is None:
                return unknown_book(item.book_id)
            if row.book.available < item.quantity:
                detail = f"{item.book_id}: {item.quantity} asked, {row.book.available} available"
                return Reason.INSUFFICIENT_STOCK, detail
        return None

    def reserve(self, items: Iterable[Item]) -> None:
        for item in items:
            self._put(self._rows[item.book_id], reserved_delta=item.quantity)

    def release(self, items: Iterable[Item]) -> None:
        for item in items:
            self._put(self._rows[item.book_id], reserved_delta=-item.quantity)

    def consume(self, items: Iterable[Item]) -> None:
        """Commit: the reservation becomes a decrement (the copies leave the shelf as sold)."""
        for item in items:
            self._put(
                self._rows[item.book_id], reserved_delta=-item.quantity, stock_delta=-item.quantity, sold=item.quantity
            )

    def _put(
        self, row: Row, *, stock_delta: int = 0, reserved_delta: int = 0, sold: int = 0, restocked: int = 0
    ) -> Row:
        book = replace(row.book, stock=row.book.stock + stock_delta, reserved=row.book.reserved + reserved_delta)
        new = replace(row, book=book, sold=row.sold + sold, restocked=row.restocked + restocked)
        # Paired assertions (docs/design.md §6): available never below 0, and I1 conservation, after every change.
        assert 0 <= book.reserved <= book.stock, f"{book.id}: stock {book.stock}, reserved {book.reserved}"
        assert new.initial_stock + new.restocked == book.stock + new.sold, f"{book.id}: conservation broken"
        self._rows[book.id] = new
        return new

    # ---- queries, invariants ------------------------------------------------------------------------

    def book(self, book_id: str) -> BookView | None:
        row = self._rows.get(book_id)
        return row.book if row else None

    def books(self) -> tuple[BookView, ...]:
        return tuple(row.book for row in self._rows.values())

    def conservation(self, book_id: str) -> tuple[int, int, int, int]:
        """(initial stock, Σ restocks, stock on hand, Σ sold) of one book: I1 says a + b == c + d."""
        row = self._rows[book_id]
        return row.initial_stock, row.restocked, row.book.stock, row.sold

    def set_reserved(self, reserved: Mapping[str, int]) -> None:
        """After a restore: the reserved counts are derived from the prepared transactions, not stored."""
        for book_id, row in self._rows.items():
            self._rows[book_id] = replace(row, book=replace(row.book, reserved=reserved.get(book_id, 0)))

    def check_invariants(self, reserved: Mapping[str, int]) -> None:
        for row in self._rows.values():
            assert row.book.reserved == reserved.get(row.book.id, 0), f"{row.book.id}: reserved count drifted"
            assert 0 <= row.book.reserved <= row.book.stock, f"{row.book.id}: available below 0"
            assert row.initial_stock + row.restocked == row.book.stock + row.sold, f"{row.book.id}: I1 broken"

    # ---- snapshot encoding (the "books" and "requests" fields of SNAPSHOT_VERSION 1) -----------------

    def to_json(self) -> dict[str, Any]:
        return {
            "books": [
                [
                    r.book.id,
                    r.book.title,
                    r.book.author,
                    r.book.category,
                    r.book.price,
                    r.initial_stock,
                    r.book.stock,
                    r.restocked,
                    r.sold,
                ]
                for r in self._rows.values()
            ],
            "requests": [
                [request_id, command, _result_to_json(result)]
                for request_id, (command, result) in self._requests.items()
            ],
        }

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Stock:
        """Reserved counts start at 0: the caller sets them from the transactions (set_reserved)."""
        return cls(
            (
                Row(BookView(r[0], r[1], r[2], r[3], r[4], r[6], 0), initial_stock=r[5], restocked=r[7], sold=r[8])
                for r in body["books"]
            ),
            ((r[0], r[1], _result_from_json(r[2])) for r in body["requests"]),
        )


def _result_to_json(result: StockChanged) -> list[Any]:
    return [result.book_id, result.ok, result.stock, result.reserved, result.reason.value if result.reason else None]


def _result_from_json(body: list[Any]) -> StockChanged:
    return StockChanged(body[0], body[1], body[2], body[3], Reason(body[4]) if body[4] else None)
