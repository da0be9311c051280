"""The storefront's HTTP app: the static page, /config.js (where the API is) and /healthz.

Everything dynamic happens in the browser against the orchestrator; this app never sees an order.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, Response, send_from_directory

STATIC_DIR = Path(__file__).with_name("static")


def api_origin(api_base_url: str) -> str:
    """The scheme://host:port of the API, for the page's Content-Security-Policy (empty when same-origin)."""
    parts = urlsplit(api_base_url)
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(api_base_url: str) -> str:
    # The page runs only its own modules and talks only to itself and the API: no inline script, no eval.
    connect = " ".join(filter(None, ["'self'", api_origin(api_base_url)]))
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src {connect}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
            "object-src 'none'",
        ]
    )


def config_script(api_base_url: str, cluster_poll_ms: int, order_poll_ms: int, order_watch_s: float) -> str:
    """An ES module the page imports: the API's base URL and the polling bounds."""
    config = {
        "apiBaseUrl": api_base_url.rstrip("/"),
        "clusterPollMs": cluster_poll_ms,
        "orderPollMs": order_poll_ms,
        "orderWatchMs": int(order_watch_s * 1000),
    }
    return f"export const config = Object.freeze({json.dumps(config)});\n"


def create_app(
    api_base_url: str, cluster_poll_ms: int = 1000, order_poll_ms: int = 500, order_watch_s: float = 120.0
) -> Flask:
    if cluster_poll_ms <= 0 or order_poll_ms <= 0 or order_watch_s <= 0:
        raise ValueError("poll intervals and the order watch bound must be positive")
    app = Flask(__name__, static_folder=None)
    csp = content_security_policy(api_base_url)
    config_js = config_script(api_base_url, cluster_poll_ms, order_poll_ms, order_watch_s)

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = csp
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        # The page is small and changes with the code: always revalidate, never serve a stale module.
        response.headers["Cache-Control"] = "no-cache"
        return response

    @app.get("/")
    def index() -> Response:
        return send_from_directory(STATIC_DIR, "index.html")

    @app.get("/static/<path:filename>")
    def static_file(filename: str) -> Response:
        return send_from_directory(STATIC_DIR, filename)

    @app.get("/config.js")
    def config() -> Response:
        return Response(config_js, mimetype="text/javascript")

    @app.get("/healthz")
    def healthz() -> Response:
        return Response(json.dumps({"status": "ok"}), mimetype="application/json")

    return app
