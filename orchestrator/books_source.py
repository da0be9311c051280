"""Where the gateway reads books and stock: one small interface; DatabaseBooksSource is the books database.

Stock figures are the copies a buyer can get now (available = on hand − reserved by prepared orders).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

import grpc

from books_database.client import BooksClient
from utils.catalog import Catalog

log = logging.getLogger(__name__)
BOOKS_TIMEOUT_S = 2.0  # one gateway call's budget for the database (redirects and retries included)
PROBE_TIMEOUT_S = 0.5  # readiness: how long each replica's Status may take


@dataclass(frozen=True, slots=True)
class BookView:
    book_id: str
    title: str
    author: str
    category: str
    price: Decimal
    stock: int | None  # None: not known (the database is not reachable)


class BooksUnavailable(Exception):
    """The books database cannot answer (maps to 503)."""


class UnknownBook(Exception):
    """No book with that id (maps to 404)."""


class BooksSource(Protocol):
    def list_books(self) -> list[BookView]: ...
    def read_stock(self, book_id: str) -> int: ...
    def increment_stock(self, book_id: str, amount: int) -> int: ...
    def readiness(self) -> dict[str, bool]: ...


class DatabaseBooksSource:
    """Books and stock from the books database's primary (linearizable reads; restocks through its log)."""

    def __init__(self, catalog: Catalog, client: BooksClient, timeout_s: float = BOOKS_TIMEOUT_S) -> None:
        self.catalog = catalog
        self.client = client
        self.timeout_s = timeout_s

    def list_books(self) -> list[BookView]:
        try:
            rows = self.client.list_books(timeout_s=self.timeout_s)
        except grpc.RpcError as error:
            # The catalog still sells: show it with stock unknown rather than fail the whole page.
            log.warning("books database unavailable; catalog without stock", extra={"error": error.code().name})
            return [BookView(b.id, b.title, b.author, b.category, b.price, None) for b in self.catalog.books]
        return [BookView(r.id, r.title, r.author, r.category, Decimal(r.price), r.available) for r in rows]

    def read_stock(self, book_id: str) -> int:
        try:
            return int(self.client.read_stock(book_id, timeout_s=self.timeout_s).available)
        except grpc.RpcError as error:
            raise _mapped(error) from None

    def increment_stock(self, book_id: str, amount: int) -> int:
        try:
            return int(self.client.increment_stock(book_id, amount, timeout_s=self.timeout_s).available)
        except grpc.RpcError as error:
            raise _mapped(error) from None

    def readiness(self) -> dict[str, bool]:
        statuses = self.client.status_all(timeout_s=PROBE_TIMEOUT_S)
        return {"books_database": any(s is not None and s.role == "leader" for s in statuses.values())}


def _mapped(error: grpc.RpcError) -> Exception:
    if error.code() is grpc.StatusCode.NOT_FOUND:
        return UnknownBook(error.details())
    return BooksUnavailable(f"books database: {error.details() or error.code().name}")


class CatalogBooksSource:
    """The catalog without a database: books and prices, no stock (for tests and a database-less demo)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def list_books(self) -> list[BookView]:
        return [BookView(b.id, b.title, b.author, b.category, b.price, None) for b in self.catalog.books]

    def read_stock(self, book_id: str) -> int:
        raise BooksUnavailable("books database not available")

    def increment_stock(self, book_id: str, amount: int) -> int:
        raise BooksUnavailable("books database not available")

    def readiness(self) -> dict[str, bool]:
        return {}  # not a dependency: nothing to wait for
