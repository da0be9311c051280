"""The gateway's HTTP server built from its settings: the edge's bounds and the checkout's early load shedding.

utils/web/server.py is the server itself (Tornado in front of the Flask app); docs/gateway.md says what each bound
guards against.
"""

from __future__ import annotations

from flask import Flask

from orchestrator.metrics import GatewayMetrics
from orchestrator.settings import OrchestratorSettings
from utils.settings import FleetSettings, RuntimeSettings
from utils.web.core.admission import AdmissionBound
from utils.web.server import HttpLimits, Shedding, WsgiServer


def gateway_server(app: Flask, fleet: FleetSettings, runtime: RuntimeSettings, own: OrchestratorSettings) -> WsgiServer:
    """The server for `app` on ORCHESTRATOR_PORT (not yet bound)."""
    return WsgiServer(
        app,
        runtime.listen_host or fleet.orchestrator_host,
        fleet.orchestrator_port,
        edge_limits(own),
        shedding=checkout_shedding(own, app.extensions["bookstore.metrics"]),
        name="gateway",
        stop_grace_s=runtime.shutdown_grace_s,
    )


def edge_limits(own: OrchestratorSettings) -> HttpLimits:
    return HttpLimits(
        header_timeout_s=own.header_timeout_s,
        body_timeout_s=own.body_timeout_s,
        request_line_bytes_max=own.request_line_bytes_max,
        header_bytes_max=own.header_bytes_max,
        body_bytes_max=own.body_bytes_max,
        connections_max=own.connections_max,
        threads=own.app_threads(),
    )


def checkout_shedding(own: OrchestratorSettings, metrics: GatewayMetrics) -> Shedding:
    """Beyond the in-flight bound a checkout is answered 503 at its headers: no validation work is started that the
    fleet could not finish within the flow's deadline (counted as outcome "shed")."""
    return Shedding(
        "POST",
        "/checkout",
        AdmissionBound(own.in_flight_max()),
        retry_after_s=own.shed_retry_after_s,
        on_refused=lambda: metrics.checkouts.add(1, {"outcome": "shed"}),
        detail="too many checkouts in progress; the order was not placed, retry after the indicated time",
    )
