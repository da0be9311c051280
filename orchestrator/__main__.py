"""`python -m orchestrator`: the HTTP gateway on ORCHESTRATOR_PORT, with the validation flow's FlowReport server.

Settings are read once here; /metrics is served on the HTTP port itself (no separate metrics server). The HTTP server
is utils/web/server.py (Tornado's event loop in front of the Flask app; docs/gateway.md).
"""

from __future__ import annotations

import logging
import signal

from books_database.client import BooksClient
from orchestrator.app import create_app, origins_from
from orchestrator.books_source import DatabaseBooksSource
from orchestrator.checkout import CheckoutService
from orchestrator.cluster_view import ProbingClusterView
from orchestrator.dependencies import Dependencies
from orchestrator.idempotency import IdempotencyStore
from orchestrator.metrics import GatewayMetrics
from orchestrator.payments import PaymentTokenizer
from orchestrator.queue_adapter import QueueAdapter
from orchestrator.settings import OrchestratorSettings
from orchestrator.twopc_timelines import ExecutorTimelines
from orchestrator.validation_flow import ValidationFlow
from orchestrator.views.drawings import DrawingSources, install
from orchestrator.views.faults import FaultLink
from orchestrator.views.faults import install as install_faults
from order_queue.client import OrderQueueClient
from utils.catalog.file import load_catalog
from utils.datafiles import secure_process_files
from utils.logs import configure_logging
from utils.rpc.bootstrap import listen_address
from utils.rpc.healthcheck import is_serving
from utils.rpc.trust import install_trust, trust_from
from utils.settings import FleetSettings, RuntimeSettings
from utils.telemetry import configure_telemetry
from utils.web.core.admission import AdmissionBound
from utils.web.server import HttpLimits, Shedding, WsgiServer

log = logging.getLogger("orchestrator")


def main() -> None:
    fleet, runtime, own = FleetSettings(), RuntimeSettings(), OrchestratorSettings()
    configure_logging("orchestrator", runtime.log_level, runtime.log_file)
    configure_telemetry("orchestrator", runtime.otel_exporter_otlp_endpoint)
    secure_process_files(runtime.data_dir, runtime.data_dir / "orchestrator")  # owner-only (docs/operations.md)
    install_trust(trust_from(runtime, fleet, "orchestrator"))
    catalog = load_catalog()
    flow = ValidationFlow(
        fleet,
        flow_timeout_s=own.flow_timeout_s,
        listen=listen_address(fleet.orchestrator_flow_addr, runtime),
        rpc_timeout_s=runtime.rpc_timeout_s,
        probe_timeout_s=own.probe_timeout_s,
    )
    flow.start()
    queue = OrderQueueClient(fleet.order_queue_addr, timeout_s=runtime.rpc_timeout_s)
    cluster = ProbingClusterView(fleet, queue, own.probe_timeout_s)
    idempotency = IdempotencyStore(
        runtime.data_dir / "orchestrator" / "idempotency.sqlite3",
        keys_max=own.idempotency_keys_max,
        ttl_s=own.idempotency_ttl_s,
    )
    tokenizer = PaymentTokenizer(fleet.payment_service_addr, timeout_s=runtime.rpc_timeout_s)
    checkout = CheckoutService(flow, QueueAdapter(queue), catalog, tokenizer=tokenizer)
    dependencies = Dependencies(
        flow=flow,
        queue=queue,
        books=DatabaseBooksSource(catalog, BooksClient.from_settings(fleet, timeout_s=runtime.rpc_timeout_s)),
        cluster=cluster,
        idempotency=idempotency,
        checkout=checkout,
        probes={
            "payment_service": lambda: is_serving(
                fleet.payment_service_addr, own.probe_timeout_s, peer="payment_service"
            )
        },
    )
    app = create_app(dependencies, own, origins_from(fleet.frontend_origin))
    timelines = ExecutorTimelines(fleet.executor_peers(), own.probe_timeout_s)  # the order page's 2PC timeline
    install(app, DrawingSources(traces=flow, timelines=timelines))
    install_faults(app, FaultLink.from_environment())  # None unless the launcher allows faults (docs/watching.md)
    host = runtime.listen_host or fleet.orchestrator_host
    server = WsgiServer(
        app,
        host,
        fleet.orchestrator_port,
        edge_limits(own),
        shedding=checkout_shedding(own, app.extensions["bookstore.metrics"]),
        name="gateway",
        stop_grace_s=runtime.shutdown_grace_s,
    )
    server.bind()
    log.info(
        "serving",
        extra={"host": host, "port": server.port, "checkouts_in_flight_max": own.in_flight_max()},
    )
    try:
        server.run(stop_signals=(signal.SIGTERM, signal.SIGINT))
    finally:
        flow.stop()
        cluster.close()
        timelines.close()
        queue.close()
        idempotency.close()
        tokenizer.close()
        log.info("stopped")


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


if __name__ == "__main__":
    main()
