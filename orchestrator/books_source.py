"""Where the gateway reads books and stock: one small interface, so the books database's client is
swapped in here, in one place, when it lands.

Until then the catalog file answers `GET /books` (stock unknown) and stock calls say the database
is not available.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from utils.catalog import Catalog


@dataclass(frozen=True, slots=True)
class BookView:
    book_id: str
    title: str
    author: str
    category: str
    price: Decimal
    stock: int | None           # None: not known (the database is not reachable)


class BooksUnavailable(Exception):
    """The books database cannot answer (maps to 503)."""


class UnknownBook(Exception):
    """No book with that id (maps to 404)."""


class BooksSource(Protocol):
    def list_books(self) -> list[BookView]: ...
    def read_stock(self, book_id: str) -> int: ...
    def increment_stock(self, book_id: str, amount: int) -> int: ...
    def readiness(self) -> dict[str, bool]: ...


class CatalogBooksSource:
    """The catalog without a database: books and prices, no stock."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def list_books(self) -> list[BookView]:
        return [BookView(b.id, b.title, b.author, b.category, b.price, None) for b in self.catalog.books]

    def read_stock(self, book_id: str) -> int:
        raise BooksUnavailable("books database not available")

    def increment_stock(self, book_id: str, amount: int) -> int:
        raise BooksUnavailable("books database not available")

    def readiness(self) -> dict[str, bool]:
        return {}   # not a dependency yet: nothing to wait for
