"""Who may write through the gateway: cross-site writes are refused (a page on another origin can POST a CORS-simple
body, e.g. text/plain, without a preflight), and stock writes need the operator's bearer token (docs/gateway.md).
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass

from flask import Flask, current_app, request

from orchestrator.problems import Problem

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_GUARDS = "bookstore.edge_guards"


@dataclass(frozen=True, slots=True)
class EdgeGuards:
    allowed_origins: frozenset[str]  # FRONTEND_ORIGIN
    operator_token: str  # "" = no token configured: only trusted loopback clients may write stock
    operator_loopback: bool  # loopback clients need no token (the local fleet only)

    def check_origin(self, method: str, origin: str | None, own_origin: str) -> None:
        """A write carrying an Origin is accepted from the frontend's origins or the gateway's own; a request
        without Origin comes from no browser page (curl, the course suites, the frontend's server) and passes."""
        if method not in UNSAFE_METHODS or origin is None:
            return
        if origin in self.allowed_origins or origin == own_origin:
            return
        raise Problem(
            403,
            "CROSS_SITE_REFUSED",
            "Forbidden",
            "a write from another site's page is refused: only the storefront's origins may send one",
        )

    def check_operator(self, remote_addr: str | None, authorization: str | None) -> None:
        if self.operator_loopback and _is_loopback(remote_addr):
            return
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _operator_problem("a stock write needs the operator credential: send Authorization: Bearer <token>")
        if not self.operator_token or not hmac.compare_digest(token.strip().encode(), self.operator_token.encode()):
            raise _operator_problem("the operator credential is not valid")


def install_edge_guards(app: Flask, guards: EdgeGuards) -> None:
    app.extensions[_GUARDS] = guards

    @app.before_request
    def _refuse_cross_site() -> None:
        guards.check_origin(request.method, request.headers.get("Origin"), request.host_url.rstrip("/"))


def require_operator() -> None:
    """Called first by every stock-writing view."""
    guards: EdgeGuards = current_app.extensions[_GUARDS]
    guards.check_operator(request.remote_addr, request.headers.get("Authorization"))


def _is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _operator_problem(detail: str) -> Problem:
    return Problem(
        401,
        "OPERATOR_CREDENTIAL_REQUIRED",
        "Unauthorized",
        detail,
        headers={"WWW-Authenticate": 'Bearer realm="bookstore-operator"'},
    )
