"""The start of every gRPC service's main(): logging, telemetry, metrics endpoint, listen address, trust (TLS).

Kept here so each service's __main__ only wires its own servicer.
"""

from __future__ import annotations

import logging

from utils.logs import configure_logging
from utils.rpc.trust import install_trust, trust_from
from utils.settings import FleetSettings, RuntimeSettings
from utils.telemetry import configure_telemetry, serve_metrics

log = logging.getLogger(__name__)


def listen_address(own_address: str, runtime: RuntimeSettings) -> str:
    """Binds to the service's own host:port unless LISTEN_HOST overrides the host (0.0.0.0 in containers)."""
    host, _, port = own_address.rpartition(":")
    return f"{runtime.listen_host or host}:{port}"


def metrics_port_for(own_address: str, runtime: RuntimeSettings) -> int:
    return runtime.metrics_port or int(own_address.rpartition(":")[2]) + 1000


def prepare_process(
    service: str, own_address: str, runtime: RuntimeSettings, fleet: FleetSettings | None = None
) -> None:
    """`service` is also the TLS identity of a singleton (a replica's is its NODE_ID)."""
    configure_logging(service, runtime.log_level, runtime.log_file)
    install_trust(trust_from(runtime, fleet or FleetSettings(), service))
    configure_telemetry(service, runtime.otel_exporter_otlp_endpoint)
    port = metrics_port_for(own_address, runtime)
    serve_metrics(port, runtime.listen_host or own_address.rpartition(":")[0])
    log.info("metrics served", extra={"metrics_port": port})
