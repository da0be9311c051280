"""`python -m orchestrator`: the HTTP gateway on ORCHESTRATOR_PORT, with the validation flow's FlowReport server.

Settings are read once here; /metrics is served on the HTTP port itself (no separate metrics server).
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from werkzeug.serving import make_server

from books_database.client import BooksClient
from orchestrator.app import create_app, origins_from
from orchestrator.books_source import DatabaseBooksSource
from orchestrator.checkout import CheckoutService
from orchestrator.cluster_view import ProbingClusterView
from orchestrator.dependencies import Dependencies
from orchestrator.idempotency import IdempotencyStore
from orchestrator.payments import PaymentTokenizer
from orchestrator.queue_adapter import QueueAdapter
from orchestrator.settings import OrchestratorSettings
from orchestrator.twopc_timelines import ExecutorTimelines
from orchestrator.validation_flow import ValidationFlow
from orchestrator.views.drawings import DrawingSources, install
from order_queue.client import OrderQueueClient
from utils.catalog.file import load_catalog
from utils.logs import configure_logging
from utils.rpc.bootstrap import listen_address
from utils.rpc.healthcheck import is_serving
from utils.settings import FleetSettings, RuntimeSettings
from utils.telemetry import configure_telemetry

log = logging.getLogger("orchestrator")


def main() -> None:
    fleet, runtime, own = FleetSettings(), RuntimeSettings(), OrchestratorSettings()
    configure_logging("orchestrator", runtime.log_level, runtime.log_file)
    configure_telemetry("orchestrator", runtime.otel_exporter_otlp_endpoint)
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
        probes={"payment_service": lambda: is_serving(fleet.payment_service_addr, own.probe_timeout_s)},
    )
    app = create_app(dependencies, own, origins_from(fleet.frontend_origin))
    timelines = ExecutorTimelines(fleet.executor_peers(), own.probe_timeout_s)  # the order page's 2PC timeline
    install(app, DrawingSources(traces=flow, timelines=timelines))
    host = runtime.listen_host or fleet.orchestrator_host
    server = make_server(host, fleet.orchestrator_port, app, threaded=True)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal received, stopping", extra={"signal": signal.Signals(signum).name})
        threading.Thread(target=server.shutdown, name="graceful-stop").start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.info("serving", extra={"host": host, "port": fleet.orchestrator_port})
    try:
        server.serve_forever()
    finally:
        flow.stop()
        cluster.close()
        timelines.close()
        queue.close()
        idempotency.close()
        tokenizer.close()
        log.info("stopped")


if __name__ == "__main__":
    main()
