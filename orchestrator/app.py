"""The app factory: builds the Flask gateway from its dependencies (flow, queue, books, cluster view,
idempotency store), so tests pass fakes and main() passes the real ones.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_cors import CORS
from opentelemetry.instrumentation.flask import FlaskInstrumentor

from orchestrator.dependencies import EXTENSION, Dependencies
from orchestrator.edge_guards import EdgeGuards, install_edge_guards
from orchestrator.metrics import GatewayMetrics
from orchestrator.problems import register_error_handlers
from orchestrator.request_context import install_request_context
from orchestrator.settings import OrchestratorSettings
from orchestrator.views import books, checkout, cluster, drawings, faults, health, orders
from utils.rpc.correlation import HTTP_HEADER
from utils.telemetry import tracing_exported


def create_app(dependencies: Dependencies, config: OrchestratorSettings, cors_origins: list[str]) -> Flask:
    app = Flask("orchestrator")
    app.config["MAX_CONTENT_LENGTH"] = config.body_bytes_max  # larger bodies → 413 (Werkzeug), as problem+json
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep the documented member order
    app.extensions[EXTENSION] = dependencies
    app.extensions["bookstore.settings"] = config
    app.extensions["bookstore.metrics"] = GatewayMetrics(lambda: _queue_depth(dependencies, config.probe_timeout_s))
    register_error_handlers(app)
    install_request_context(app, config.request_budget_s)
    install_edge_guards(app, EdgeGuards(frozenset(cors_origins), config.operator_secret(), config.operator_loopback))
    for blueprint in (checkout.blueprint, orders.blueprint, books.blueprint, cluster.blueprint, health.blueprint):
        app.register_blueprint(blueprint)
    app.register_blueprint(drawings.blueprint)  # the order page's drawings (docs/drawings.md)
    app.register_blueprint(faults.blueprint)  # the Cluster tab's fault buttons, local fleet only (docs/watching.md)
    CORS(
        app,
        origins=cors_origins,
        expose_headers=[HTTP_HEADER, "Idempotent-Replayed", "Retry-After"],
        allow_headers=["Content-Type", "Idempotency-Key", HTTP_HEADER],
        max_age=600,
    )
    if tracing_exported():  # a span per request only when spans go somewhere (an OTLP endpoint)
        FlaskInstrumentor().instrument_app(app, excluded_urls="healthz,metrics")
    return app


def _queue_depth(dependencies: Dependencies, timeout_s: float) -> int | None:
    stats: Any = dependencies.queue.stats(timeout_s=timeout_s)
    return int(stats.depth)


def origins_from(setting: str) -> list[str]:
    """FRONTEND_ORIGIN: a comma-separated list of origins allowed by CORS."""
    return [o.strip() for o in setting.split(",") if o.strip()]
