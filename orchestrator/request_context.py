"""Per HTTP request: a correlation id (the caller's if sane, else new) set for every gRPC hop and
returned as X-Correlation-ID, a deadline budget for the calls it makes, and one structured log line.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

from utils.rpc import correlation, deadline

log = logging.getLogger("orchestrator.http")


def install_request_context(app: Flask, request_budget_s: float) -> None:
    @app.before_request
    def _begin() -> None:
        g.started = time.perf_counter()
        g.correlation_id = correlation.sanitize(request.headers.get(correlation.HTTP_HEADER))
        g.correlation_token = correlation.set_correlation_id(g.correlation_id)
        g.deadline_token = deadline.set_deadline_in(request_budget_s)

    @app.after_request
    def _finish(response: Response) -> Response:
        correlation_id = g.get("correlation_id") or correlation.new_correlation_id()
        response.headers[correlation.HTTP_HEADER] = correlation_id
        started = g.get("started")
        log.info(
            "http",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
                "correlation_id": correlation_id,
            },
        )
        return response

    @app.teardown_request
    def _reset(_error: BaseException | None) -> None:
        token = g.pop("deadline_token", None)
        if token is not None:
            deadline.reset_deadline(token)
        token = g.pop("correlation_token", None)
        if token is not None:
            correlation.reset_correlation_id(token)
