"""Book suggestions proposed by a model, kept only when they are real catalog books not in the cart.

At most three; the catalog recommender fills any gap, and takes over when the model fails.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

from pydantic import BaseModel, Field

from utils.catalog import Book, Catalog
from utils.llm.json_client import JsonChatClient, LlmUnavailable
from utils.telemetry import meter

log = logging.getLogger(__name__)
SUGGESTIONS_MAX = 3

SYSTEM_PROMPT = (
    "You recommend books from a bookstore's catalog. Given the catalog titles and the books in the "
    "customer's cart, answer only with JSON: titles (up to 3 catalog titles, exactly as written, not in the cart)."
)


class SuggestionAnswer(BaseModel):
    titles: list[str] = Field(max_length=10)


def keep_real_suggestions(titles: Sequence[str], catalog: Catalog, cart_ids: set[str],
                          limit: int = SUGGESTIONS_MAX) -> list[Book]:
    """Pure filter: catalog books only, none in the cart, no repeats, at most `limit`."""
    kept: list[Book] = []
    for title in titles:
        book = catalog.by_title(title)
        if book is None or book.id in cart_ids or any(k.id == book.id for k in kept):
            continue
        kept.append(book)
        if len(kept) == limit:
            break
    return kept


def fill_from(primary: Sequence[Book], fallback: Sequence[Book], cart_ids: set[str],
              limit: int = SUGGESTIONS_MAX) -> list[Book]:
    """The model's picks first, then the catalog recommender's, without duplicates or cart books."""
    chosen = list(primary[:limit])
    for book in fallback:
        if len(chosen) == limit:
            break
        if book.id not in cart_ids and all(c.id != book.id for c in chosen):
            chosen.append(book)
    return chosen


class LlmRecommender:
    def __init__(self, client: JsonChatClient, catalog: Catalog) -> None:
        self.client = client
        self.catalog = catalog
        self._fallbacks = meter("suggestions").create_counter(
            "suggestions_llm_fallbacks", unit="1", description="suggestions served by the catalog because the LLM gave none")

    @property
    def enabled(self) -> bool:
        return self.client.enabled

    def suggest(self, cart: Sequence[Book], catalog_picks: Sequence[Book]) -> list[Book]:
        """The model's real suggestions, filled up from `catalog_picks` to three."""
        cart_ids = {b.id for b in cart}
        picks: list[Book] = []
        try:
            answer = self.client.ask(SYSTEM_PROMPT, self._prompt(cart), SuggestionAnswer)
            picks = keep_real_suggestions(answer.titles, self.catalog, cart_ids)
        except LlmUnavailable as failure:
            self._fallbacks.add(1, {"cause": failure.kind.value})
            if self.client.enabled:
                log.warning("suggestions LLM fell back to the catalog", extra={"cause": failure.kind.value})
        return fill_from(picks, catalog_picks, cart_ids)

    def _prompt(self, cart: Sequence[Book]) -> str:
        titles = "\n".join(f"- {b.title} ({b.author}; {b.category})" for b in self.catalog.books)
        in_cart = "\n".join(f"- {b.title}" for b in cart) or "- (empty)"
        return f"Catalog:\n{titles}\n\nCart:\n{in_cart}"
