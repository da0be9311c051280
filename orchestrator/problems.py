"""Errors as RFC 9457 problem details, carrying the course API's `"error": {"code", "message"}` member too.

Every error answer of the gateway is built here, so none leaks a stack trace or an HTML page.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException

from orchestrator.checkout_errors import CheckoutUnavailable, DependencyUnavailable, QueueFull, TokenizationUnavailable
from utils.web.problem import PROBLEM_MEDIA_TYPE, problem_body

log = logging.getLogger("orchestrator")
__all__ = ["PROBLEM_MEDIA_TYPE", "Problem", "checkout_problem", "problem_body", "problem_response"]


class Problem(Exception):
    """Raised by a view to answer with a problem document."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        assert 400 <= status <= 599, "a problem is an error status"
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra or {}


def problem_response(problem: Problem) -> Response:
    body = problem_body(problem.status, problem.code, problem.title, problem.detail, problem.extra)
    response = Response(json.dumps(body), status=problem.status, mimetype=PROBLEM_MEDIA_TYPE)
    for name, value in problem.headers.items():
        response.headers[name] = value
    return response


def checkout_problem(error: CheckoutUnavailable) -> Problem:
    """The answer to an order that could not be placed: 503, with how long to wait before a retry."""
    if isinstance(error, QueueFull):
        return Problem(
            503,
            "QUEUE_FULL",
            "Service Unavailable",
            "the order queue is full; the order was not placed, try again later",
            headers={"Retry-After": "5"},
        )
    if isinstance(error, TokenizationUnavailable):
        return Problem(
            503,
            "DEPENDENCY_UNAVAILABLE",
            "Service Unavailable",
            "payment_service could not tokenize the card; the order was not placed, try again",
            headers={"Retry-After": "1"},
        )
    service = error.service if isinstance(error, DependencyUnavailable) else "a dependency"
    return Problem(
        503,
        "DEPENDENCY_UNAVAILABLE",
        "Service Unavailable",
        f"{service} is not available; the order was not placed, try again",
        headers={"Retry-After": "1"},
    )


# Codes for the HTTP errors Werkzeug raises itself (routing, body size, bad request lines); the server answers
# oversized requests before the app (utils/web/server.py) with the same codes.
_HTTP_CODES = {
    400: "INVALID_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    414: "URI_TOO_LONG",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "TOO_MANY_REQUESTS",
    431: "HEADERS_TOO_LARGE",
}


def _from_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    detail = {
        404: "no such resource",
        405: "method not allowed on this resource",
        413: "the request body is too large",
    }.get(status, error.description or error.name)
    headers = {}
    if status == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
    return problem_response(Problem(status, _HTTP_CODES.get(status, "HTTP_ERROR"), error.name, detail, headers=headers))


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(Problem, problem_response)
    app.register_error_handler(HTTPException, _from_http_exception)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        # Logged with its traceback for operators; the client gets a generic problem, never the trace.
        log.exception("unhandled error", extra={"error_type": type(error).__name__})
        return problem_response(
            Problem(500, "INTERNAL", "Internal Server Error", "the server failed to answer; the error was logged")
        )
