"""The bookstore's catalog as typed records, parsed from its JSON text (pure: `utils.catalog.file` reads it).

The gateway resolves order items against it; suggestions and the books database's first-start seed use it too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Book:
    id: str
    title: str
    author: str
    category: str
    price: Decimal
    initial_stock: int


@dataclass(frozen=True, slots=True)
class Catalog:
    books: tuple[Book, ...]

    def by_id(self, book_id: str) -> Book | None:
        return next((b for b in self.books if b.id == book_id), None)

    def by_title(self, title: str) -> Book | None:
        wanted = title.strip().casefold()
        return next((b for b in self.books if b.title.casefold() == wanted), None)

    def find(self, book_id: str | None = None, title: str | None = None) -> Book | None:
        """Resolves an order item: by id when given, else by title (case-insensitive)."""
        if book_id:
            return self.by_id(book_id)
        return self.by_title(title) if title else None


def parse_catalog(text: str) -> Catalog:
    raw = json.loads(text)
    books = tuple(
        Book(
            id=b["id"],
            title=b["title"],
            author=b["author"],
            category=b["category"],
            price=Decimal(str(b["price"])),
            initial_stock=int(b["stock"]),
        )
        for b in raw["books"]
    )
    if len({b.id for b in books}) != len(books):
        raise ValueError("catalog book ids must be unique")
    return Catalog(books)
