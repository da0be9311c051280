"""GET /healthz (the process answers), GET /readyz (its gRPC dependencies answer their health checks),
GET /metrics (Prometheus text from the OpenTelemetry Prometheus reader).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from orchestrator.dependencies import deps
from orchestrator.problems import Problem
from orchestrator.settings import OrchestratorSettings

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> dict[str, Any]:
    return {"status": "ok"}


@blueprint.get("/readyz")
def readyz() -> dict[str, Any]:
    settings: OrchestratorSettings = current_app.extensions["bookstore.settings"]
    dependencies = deps()
    ready = {
        **dependencies.flow.readiness(),
        "order_queue": dependencies.queue.is_serving(timeout_s=settings.probe_timeout_s),
        **dependencies.books.readiness(),
        **{name: probe() for name, probe in dependencies.probes.items()},
    }
    down = sorted(name for name, ok in ready.items() if not ok)
    if down:
        raise Problem(
            503, "NOT_READY", "Service Unavailable", f"not ready: {', '.join(down)} down", extra={"dependencies": ready}
        )
    return {"status": "ready", "dependencies": ready}


@blueprint.get("/metrics")
def metrics() -> Response:
    return Response(
        generate_latest(), mimetype=CONTENT_TYPE_LATEST.split(";")[0], headers={"Content-Type": CONTENT_TYPE_LATEST}
    )
