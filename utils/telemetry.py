"""OpenTelemetry for one process: traces and metrics, readable at /metrics, exported by OTLP when configured.

Metrics go through the OTel API and a Prometheus reader, so `/metrics` and OTLP show the same instruments.
"""

from __future__ import annotations

import logging
import threading

from opentelemetry import metrics, trace
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from prometheus_client import start_http_server

log = logging.getLogger(__name__)
_configured = threading.Lock()
_done = False


def configure_telemetry(service: str, otlp_endpoint: str = "") -> None:
    """Installs the tracer and meter providers once per process."""
    global _done
    with _configured:
        if _done:
            return
        _done = True
        resource = Resource.create({"service.name": service})
        readers: list[MetricReader] = [PrometheusMetricReader()]
        tracer_provider = TracerProvider(resource=resource)
        if otlp_endpoint:
            # Imported here so a process without an endpoint never loads the exporter's gRPC client.
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            tracer_provider.add_span_processor(
                BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint, insecure=True))
            )
            readers.append(
                PeriodicExportingMetricReader(
                    OTLPMetricExporter(endpoint=otlp_endpoint, insecure=True), export_interval_millis=10_000
                )
            )
            log.info("OTLP export on", extra={"endpoint": otlp_endpoint})
        trace.set_tracer_provider(tracer_provider)
        metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=readers))


def serve_metrics(port: int, host: str = "0.0.0.0") -> None:
    """Serves the Prometheus text format on http://host:port/metrics (a daemon thread)."""
    start_http_server(port, addr=host)


def meter(name: str) -> metrics.Meter:
    return metrics.get_meter(name)


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)
