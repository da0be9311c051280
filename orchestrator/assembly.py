"""The gateway assembled from its settings: the Flask app with its real clients (validation flow, queue, books,
payment tokenizer, cluster and 2PC probes, idempotency store), each closed when the assembly is left.

Only `python -m orchestrator` builds it; tests build the app from fakes through orchestrator.app.create_app.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from flask import Flask

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
from orchestrator.views.drawings import DrawingSources
from orchestrator.views.drawings import install as install_drawings
from orchestrator.views.faults import FaultLink
from orchestrator.views.faults import install as install_faults
from order_queue.client import OrderQueueClient
from utils.catalog.file import load_catalog
from utils.rpc.bootstrap import listen_address
from utils.rpc.healthcheck import is_serving
from utils.settings import FleetSettings, RuntimeSettings


@contextmanager
def assembled_gateway(fleet: FleetSettings, runtime: RuntimeSettings, own: OrchestratorSettings) -> Iterator[Flask]:
    """The app, its FlowReport server started; on leaving (or a failure half-way) every part built so far is
    stopped, last built first, so nothing outlives the app that uses it."""
    with ExitStack() as parts:
        catalog = load_catalog()
        flow = ValidationFlow(
            fleet,
            flow_timeout_s=own.flow_timeout_s,
            listen=listen_address(fleet.orchestrator_flow_addr, runtime),
            rpc_timeout_s=runtime.rpc_timeout_s,
            probe_timeout_s=own.probe_timeout_s,
        )
        flow.start()
        parts.callback(flow.stop)
        queue = OrderQueueClient(fleet.order_queue_addr, timeout_s=runtime.rpc_timeout_s)
        parts.callback(queue.close)
        cluster = ProbingClusterView(fleet, queue, own.probe_timeout_s)
        parts.callback(cluster.close)
        idempotency = IdempotencyStore(
            runtime.data_dir / "orchestrator" / "idempotency.sqlite3",
            keys_max=own.idempotency_keys_max,
            ttl_s=own.idempotency_ttl_s,
        )
        parts.callback(idempotency.close)
        tokenizer = PaymentTokenizer(fleet.payment_service_addr, timeout_s=runtime.rpc_timeout_s)
        parts.callback(tokenizer.close)
        books = DatabaseBooksSource(catalog, BooksClient.from_settings(fleet, timeout_s=runtime.rpc_timeout_s))
        dependencies = Dependencies(
            flow=flow,
            queue=queue,
            books=books,
            cluster=cluster,
            idempotency=idempotency,
            checkout=CheckoutService(flow, QueueAdapter(queue), catalog, tokenizer=tokenizer),
            probes={
                "payment_service": lambda: is_serving(
                    fleet.payment_service_addr, own.probe_timeout_s, peer="payment_service"
                )
            },
        )
        app = create_app(dependencies, own, origins_from(fleet.frontend_origin))
        timelines = ExecutorTimelines(fleet.executor_peers(), own.probe_timeout_s)  # the order page's 2PC timeline
        parts.callback(timelines.close)
        install_drawings(app, DrawingSources(traces=flow, timelines=timelines))
        install_faults(app, FaultLink.from_environment())  # None unless the launcher allows faults (docs/watching.md)
        yield app
