"""OpenTelemetry for one process: traces and metrics, readable at /metrics, exported by OTLP when configured.

Metrics go through the OTel API and a Prometheus reader, so `/metrics` and OTLP show the same instruments. Spans
have no reader but an exporter: without an OTLP endpoint no span is recorded and no gRPC call is traced.
"""

from __future__ import annotations

import logging
import threading

import grpc
from opentelemetry import metrics, trace
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.instrumentation.grpc import GrpcInstrumentorClient
from opentelemetry.instrumentation.grpc import server_interceptor as otel_server_interceptor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from prometheus_client import start_http_server

log = logging.getLogger(__name__)
_configured = threading.Lock()
_done = False
_exporting = False  # spans have somewhere to go (an OTLP endpoint): only then are they recorded
_clients_instrumented = False


def configure_telemetry(service: str, otlp_endpoint: str = "") -> None:
    """Installs the tracer and meter providers once per process."""
    global _done, _exporting
    with _configured:
        if _done:
            return
        _done = True
        resource = Resource.create({"service.name": service})
        readers: list[MetricReader] = [PrometheusMetricReader()]
        if otlp_endpoint:
            # Imported here so a process without an endpoint never loads the exporter's gRPC client.
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            tracer_provider = TracerProvider(resource=resource)
            tracer_provider.add_span_processor(
                BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint, insecure=True))
            )
            readers.append(
                PeriodicExportingMetricReader(
                    OTLPMetricExporter(endpoint=otlp_endpoint, insecure=True), export_interval_millis=10_000
                )
            )
            trace.set_tracer_provider(tracer_provider)
            _exporting = True
            log.info("OTLP export on", extra={"endpoint": otlp_endpoint})
        # Without an endpoint the API's no-op tracer stays: a recorded span nobody exports costs every call.
        metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=readers))


def serve_metrics(port: int, host: str = "0.0.0.0") -> None:
    """Serves the Prometheus text format on http://host:port/metrics (a daemon thread)."""
    start_http_server(port, addr=host)


def meter(name: str) -> metrics.Meter:
    return metrics.get_meter(name)


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def tracing_exported() -> bool:
    """Whether spans are recorded and exported (configure_telemetry was given an OTLP endpoint)."""
    return _exporting


def grpc_server_interceptors() -> list[grpc.ServerInterceptor]:  # type: ignore[type-arg]  # generic in stubs only
    """OpenTelemetry's server interceptor when spans are exported; none otherwise."""
    return [otel_server_interceptor()] if _exporting else []


def instrument_grpc_clients() -> None:
    """Traces every gRPC client call from now on, once, when spans are exported (call before opening channels)."""
    global _clients_instrumented
    with _configured:
        if _exporting and not _clients_instrumented:
            GrpcInstrumentorClient().instrument()
            _clients_instrumented = True
