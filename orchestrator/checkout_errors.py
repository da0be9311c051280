"""Why a checkout could not be placed, in the use case's own words: no HTTP status, no gRPC code.

The gRPC adapters (queue, tokenizer, validation flow) raise these; the HTTP layer maps them to problem+json.
"""

from __future__ import annotations


class CheckoutUnavailable(Exception):
    """The order was not placed because something it needs cannot serve now; a retry may succeed."""


class DependencyUnavailable(CheckoutUnavailable):
    """A service is down, or the validation flow did not finish in time."""

    def __init__(self, service: str, detail: str = "") -> None:
        super().__init__(f"{service} unavailable{': ' + detail if detail else ''}")
        self.service = service
        self.detail = detail


class QueueFull(CheckoutUnavailable):
    """The order queue holds as many orders as it may: try again later."""


class TokenizationUnavailable(CheckoutUnavailable):
    """The payment service could not tokenize the approved order's card now."""
