"""One checkout, start to answer: build the order (its books looked up once), run the validation flow, then
enqueue the approved order (or record the rejected one) and build the reply of docs/design.md §7.

Knows neither HTTP nor gRPC: the flow, the queue and the tokenizer are injected ports that raise the errors of
checkout_errors.py, so API tests run with fakes and the app with the real adapters.

The card's tokenization runs while the order is validated, not after (issue 14): a token pays for this order id
and at most its total (payment_service/tokens.py), so a token made for an order that is then rejected is simply
never used — no Prepare can name it for another order or a larger amount.
"""

from __future__ import annotations

import contextvars
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any, Protocol

from orchestrator.checkout_errors import DependencyUnavailable
from utils.catalog import Catalog
from utils.order.order import Order
from utils.rpc.correlation import current_correlation_id

log = logging.getLogger("orchestrator.checkout")
APPROVED_MESSAGE = "Order approved and queued for processing"
# A rejection's reasons are kept with the order for as long as the queue keeps it; a reason may quote what the
# shopper typed (a title), so what is stored is cut to a named bound.
STORED_REASON_CHARS_MAX = 512


@dataclass(frozen=True, slots=True)
class SuggestedBook:
    book_id: str
    title: str
    author: str


@dataclass(frozen=True, slots=True)
class ValidationOutcome:
    approved: bool
    reasons: tuple[str, ...]
    suggestions: tuple[SuggestedBook, ...]
    final_clock: dict[str, int]


@dataclass(frozen=True, slots=True)
class Enqueued:
    created: bool  # False: the order id was already queued
    priority: float
    depth: int  # orders waiting or leased, this one included


class OrderRequest(Protocol):
    """A checkout request as the HTTP layer parsed it (api_models.CheckoutRequest fits)."""

    def to_order(self, order_id: str, catalog: Catalog) -> Order: ...


class Tokenizer(Protocol):
    def tokenize(self, order: Order) -> str:
        """The order's card as a payment token for this order and its total only. Raises TokenizationUnavailable
        when it cannot be had now."""
        ...


class NoTokenizer:
    """For gateway tests with fakes: no token (the order still carries the card's last four)."""

    def tokenize(self, order: Order) -> str:
        return ""


class Flow(Protocol):
    def validate(self, order: Order) -> ValidationOutcome:
        """Raises DependencyUnavailable when a validation service cannot answer."""
        ...

    def broadcast_clear(self, order_id: str, final_clock: dict[str, int]) -> None: ...
    def readiness(self) -> dict[str, bool]: ...


class Queue(Protocol):
    def enqueue(self, order: Order) -> Enqueued:
        """Raises QueueFull, or DependencyUnavailable when the queue cannot answer."""
        ...

    def record_rejected(self, order: Order, reason: str) -> bool:
        """Raises DependencyUnavailable when the queue cannot answer."""
        ...


class Outcome(Enum):
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class CheckoutReply:
    outcome: Outcome
    body: dict[str, Any]


def new_order_id() -> str:
    return uuid.uuid4().hex


class CheckoutService:
    def __init__(
        self,
        flow: Flow,
        queue: Queue,
        catalog: Catalog,
        make_order_id: Callable[[], str] = new_order_id,
        tokenizer: Tokenizer = NoTokenizer(),
        correlation_id: Callable[[], str] = current_correlation_id,
        tokenizers_max: int = 16,
    ) -> None:
        self.flow = flow
        self.queue = queue
        self.catalog = catalog
        self.make_order_id = make_order_id
        self.tokenizer = tokenizer
        self.correlation_id = correlation_id
        # Tokenize calls beside the validation flow; their queue is bounded by the gateway's admission of checkouts.
        self._tokenizers = ThreadPoolExecutor(tokenizers_max, thread_name_prefix="tokenize")

    def checkout(self, request: OrderRequest) -> CheckoutReply:
        """Raises the errors of checkout_errors.py when the order could not be placed."""
        order = replace(request.to_order(self.make_order_id(), self.catalog), correlation_id=self.correlation_id())
        token = self._start_tokenize(order)
        outcome = self.flow.validate(order)
        try:
            if outcome.approved:
                # Issue 5: the queue holds a payment token and the last four, never the card number or CVV.
                self._enqueue(order.for_queue(token.result() if token else self.tokenizer.tokenize(order)))
                return CheckoutReply(Outcome.APPROVED, approved_body(order.order_id, outcome))
            self._record_rejected(order.for_queue(), outcome.reasons)
            return CheckoutReply(Outcome.REJECTED, rejected_body(order.order_id, outcome))
        finally:
            # Each validation service forgets the order only if its clock is <= the final one (docs/design.md §3.4).
            self.flow.broadcast_clear(order.order_id, outcome.final_clock)

    def _start_tokenize(self, order: Order) -> Future[str] | None:
        """The token, asked for now on a tokenizer thread (with this request's context: correlation id, deadline).

        None when the order has nothing to pay (an empty or unknown cart: the flow rejects it, and a Tokenize for
        0 would be refused anyway). A rejected order's token is left unused; a failed Tokenize is raised only if
        the order is approved (`result()`), as TokenizationUnavailable, exactly as when it ran after the flow.
        """
        if sum(item.quantity * item.unit_price_cents for item in order.items) <= 0:
            return None
        context = contextvars.copy_context()
        return self._tokenizers.submit(context.run, self.tokenizer.tokenize, order)

    def close(self) -> None:
        self._tokenizers.shutdown(wait=False, cancel_futures=True)

    def _enqueue(self, order: Order) -> None:
        queued = self.queue.enqueue(order)
        log.info("order queued", extra={"order_id": order.order_id, "priority": queued.priority, "depth": queued.depth})

    def _record_rejected(self, order: Order, reasons: tuple[str, ...]) -> None:
        """Best effort: the shopper still gets the verdict if the queue cannot record it."""
        try:
            self.queue.record_rejected(order, stored_reason(reasons))
        except DependencyUnavailable as error:
            log.warning("could not record a rejected order", extra={"order_id": order.order_id, "why": error.detail})


def approved_body(order_id: str, outcome: ValidationOutcome) -> dict[str, Any]:
    return {
        "orderId": order_id,
        "status": "Order Approved",
        "message": APPROVED_MESSAGE,
        "reasons": [],
        "suggestedBooks": [{"bookId": s.book_id, "title": s.title, "author": s.author} for s in outcome.suggestions],
        "finalVectorClock": dict(sorted(outcome.final_clock.items())),
    }


def rejected_body(order_id: str, outcome: ValidationOutcome) -> dict[str, Any]:
    reasons = list(outcome.reasons) or ["Order rejected"]
    return {
        "orderId": order_id,
        "status": "Order Rejected",
        "message": "; ".join(reasons),
        "reasons": reasons,
        "suggestedBooks": [],
        "finalVectorClock": dict(sorted(outcome.final_clock.items())),
    }


def stored_reason(reasons: tuple[str, ...]) -> str:
    """The reasons as one line of at most STORED_REASON_CHARS_MAX characters (cut with an ellipsis)."""
    joined = "; ".join(reasons)
    if len(joined) <= STORED_REASON_CHARS_MAX:
        return joined
    return joined[: STORED_REASON_CHARS_MAX - 1] + "…"
