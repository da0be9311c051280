"""The catalog recommender: same author, then same category, then the rest; three, never from the cart."""

from __future__ import annotations

from suggestions.core.recommender import CatalogRecommender, cart_books
from utils.catalog import Book, Catalog
from utils.catalog.file import load_catalog
from utils.order.order import resolve_item


def resolve_cart(catalog: Catalog, named: list[tuple[str, str]]) -> tuple[Book, ...]:
    """The cart as the gateway resolves it (once), then as the recommender reads it."""
    return cart_books(catalog, [resolve_item(catalog, book_id, title, 1) for book_id, title in named])


def test_clean_architecture_gets_the_authors_other_books_first() -> None:
    catalog = load_catalog()
    cart = resolve_cart(catalog, [("", "Clean Architecture")])
    picks = CatalogRecommender(catalog).recommend(cart, 3)
    assert [b.title for b in picks] == ["Clean Code", "The Clean Coder", "Design Patterns"]
    assert picks[0].author == picks[1].author == "Robert C. Martin"
    assert picks[2].category == cart[0].category


def test_never_a_book_already_in_the_cart_and_deterministic() -> None:
    catalog = load_catalog()
    cart = resolve_cart(catalog, [("book_101_clean_code", ""), ("", "The Clean Coder"), ("", "Clean Architecture")])
    recommender = CatalogRecommender(catalog)
    picks = recommender.recommend(cart, 3)
    assert len(picks) == 3 and not {b.id for b in picks} & {b.id for b in cart}
    assert picks == recommender.recommend(tuple(reversed(cart)), 3)


def test_fills_from_other_books_when_few_match() -> None:
    catalog = load_catalog()
    cart = resolve_cart(catalog, [("", "Security Engineering")])  # one other security book, no same author
    picks = CatalogRecommender(catalog).recommend(cart, 3)
    assert picks[0].title == "Cryptography Engineering"
    assert len(picks) == 3 and picks[1].id == catalog.books[0].id


def test_an_empty_or_unknown_cart_still_gets_three() -> None:
    catalog = load_catalog()
    assert resolve_cart(catalog, [("", "No Such Book")]) == ()
    assert len(CatalogRecommender(catalog).recommend((), 3)) == 3
