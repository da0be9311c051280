"""Book suggestions proposed by a model, kept only when they are real catalog books not in the cart.

At most three; the catalog recommender fills any gap, and takes over when the model fails.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor

from pydantic import BaseModel, Field

from suggestions.core.recommender import Recommender
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


def keep_real_suggestions(
    titles: Sequence[str], catalog: Catalog, cart_ids: set[str], limit: int = SUGGESTIONS_MAX
) -> list[Book]:
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


def fill_from(
    primary: Sequence[Book], fallback: Sequence[Book], cart_ids: set[str], limit: int = SUGGESTIONS_MAX
) -> list[Book]:
    """The model's picks first, then the catalog recommender's, without duplicates or cart books."""
    chosen = list(primary[:limit])
    for book in fallback:
        if len(chosen) == limit:
            break
        if book.id not in cart_ids and all(c.id != book.id for c in chosen):
            chosen.append(book)
    return chosen


class LlmRecommender:
    """The Recommender seam with a model: its real picks first, filled from the catalog recommender.

    `prefetch(order_id, cart)` starts the model call when the order is initialised, so it runs while the
    other services validate; event f then waits at most for what is left of the LLM budget. Results are
    kept per order (bounded) and dropped by `forget(order_id)` when the order's state is cleared.
    """

    def __init__(self, client: JsonChatClient, catalog: Catalog, fallback: Recommender, orders_max: int = 1024) -> None:
        self.client = client
        self.catalog = catalog
        self.fallback = fallback
        self.orders_max = orders_max
        self._pending: OrderedDict[str, Future[list[Book]]] = OrderedDict()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="llm-suggest")
        self._fallbacks = meter("suggestions").create_counter(
            "suggestions_llm_fallbacks",
            unit="1",
            description="suggestions served by the catalog because the LLM gave none",
        )

    @property
    def enabled(self) -> bool:
        return self.client.enabled

    def prefetch(self, order_id: str, cart: Sequence[Book]) -> None:
        if not self.enabled:
            return
        future = self._pool.submit(self._model_picks, tuple(cart))
        with self._lock:
            self._pending[order_id] = future
            while len(self._pending) > self.orders_max:  # bounded: the oldest prefetch is forgotten
                self._pending.popitem(last=False)[1].cancel()

    def forget(self, order_id: str) -> None:
        with self._lock:
            future = self._pending.pop(order_id, None)
        if future is not None:
            future.cancel()

    def recommend_for(self, order_id: str, cart: Sequence[Book], count: int = SUGGESTIONS_MAX) -> tuple[Book, ...]:
        with self._lock:
            future = self._pending.get(order_id)
        if future is None:
            picks = self._model_picks(tuple(cart))
        else:
            try:  # the call has its own deadline; this wait only covers its last moments
                picks = future.result(timeout=self.client.settings.llm_timeout_s)
            except (TimeoutError, CancelledError):
                picks = []
        cart_ids = {b.id for b in cart}
        return tuple(fill_from(picks, self.fallback.recommend(cart, count), cart_ids, count))

    def recommend(self, cart: Sequence[Book], count: int = SUGGESTIONS_MAX) -> tuple[Book, ...]:
        return tuple(
            fill_from(self._model_picks(tuple(cart)), self.fallback.recommend(cart, count), {b.id for b in cart}, count)
        )

    def _model_picks(self, cart: tuple[Book, ...]) -> list[Book]:
        try:
            answer = self.client.ask(SYSTEM_PROMPT, self._prompt(cart), SuggestionAnswer)
            return keep_real_suggestions(answer.titles, self.catalog, {b.id for b in cart})
        except LlmUnavailable as failure:
            self._fallbacks.add(1, {"cause": failure.kind.value})
            if self.client.enabled:
                log.warning("suggestions LLM fell back to the catalog", extra={"cause": failure.kind.value})
            return []

    def _prompt(self, cart: Sequence[Book]) -> str:
        titles = "\n".join(f"- {b.title} ({b.author}; {b.category})" for b in self.catalog.books)
        in_cart = "\n".join(f"- {b.title}" for b in cart) or "- (empty)"
        return f"Catalog:\n{titles}\n\nCart:\n{in_cart}"
