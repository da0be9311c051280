"""The catalog recommender: books by the cart's authors, then in its categories, then the rest; never one in the cart.

Pure and deterministic: ties keep catalog order (our stand-in for popularity). `Recommender` is the seam an
LLM recommender plugs into later.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from utils.catalog import Book, Catalog
from utils.order.order import OrderItem

SUGGESTIONS_COUNT = 3


class Recommender(Protocol):
    def recommend(self, cart: Sequence[Book], count: int) -> tuple[Book, ...]:
        """`count` books not in `cart`, best first."""


class CatalogRecommender:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def recommend(self, cart: Sequence[Book], count: int = SUGGESTIONS_COUNT) -> tuple[Book, ...]:
        if count < 0:
            raise ValueError("count must not be negative")
        in_cart = {book.id for book in cart}
        authors = {book.author for book in cart}
        categories = {book.category for book in cart}
        rank = {book.id: position for position, book in enumerate(self.catalog.books)}

        def score(book: Book) -> tuple[int, int]:
            # Same author first (the closest match), then same category, then anything: catalog order within.
            tier = 0 if book.author in authors else 1 if book.category in categories else 2
            return tier, rank[book.id]

        candidates = sorted((b for b in self.catalog.books if b.id not in in_cart), key=score)
        chosen = tuple(candidates[:count])
        assert not in_cart & {b.id for b in chosen}, "never suggest a book already in the cart"
        return chosen


def cart_books(catalog: Catalog, items: Sequence[OrderItem]) -> tuple[Book, ...]:
    """The recommender's records (author, category) of the books the gateway resolved, in cart order.

    No title is matched again: an item the gateway did not find is skipped (verification rejects it).
    """
    by_id = {book.id: book for book in catalog.books}
    return tuple(by_id[item.book_id] for item in items if item.found and item.book_id in by_id)
