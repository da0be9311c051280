"""Typed settings, read once from the environment in each service's main().

Every variable has a default that runs the local fleet on 127.0.0.1; `variables.env` lists them all.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def parse_peers(spec: str) -> dict[str, str]:
    """Parses "id=host:port,id=host:port" into an ordered mapping of replica id to address."""
    peers: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        node_id, sep, address = part.partition("=")
        if not sep or not node_id or ":" not in address:
            raise ValueError(f"bad peer entry {part!r}: expected id=host:port")
        peers[node_id] = address
    if not peers:
        raise ValueError("a peer list must name at least one replica")
    return peers


class FleetSettings(BaseSettings):
    """Where every service listens: shared by all services, so each can find the others."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    orchestrator_host: str = "127.0.0.1"
    orchestrator_port: int = 8081
    frontend_host: str = "127.0.0.1"
    frontend_port: int = 8080
    frontend_origin: str = "http://127.0.0.1:8080,http://localhost:8080"
    orchestrator_url: str = "http://127.0.0.1:8081"
    orchestrator_flow_addr: str = "127.0.0.1:15050"
    transaction_verification_addr: str = "127.0.0.1:15052"
    fraud_detection_addr: str = "127.0.0.1:15051"
    suggestions_addr: str = "127.0.0.1:15053"
    order_queue_addr: str = "127.0.0.1:15054"
    payment_service_addr: str = "127.0.0.1:15081"
    order_executor_peers: str = "executor-1=127.0.0.1:15061,executor-2=127.0.0.1:15062,executor-3=127.0.0.1:15063"
    books_database_peers: str = "books-1=127.0.0.1:15071,books-2=127.0.0.1:15072,books-3=127.0.0.1:15073"

    def executor_peers(self) -> dict[str, str]:
        return parse_peers(self.order_executor_peers)

    def database_peers(self) -> dict[str, str]:
        return parse_peers(self.books_database_peers)


class RuntimeSettings(BaseSettings):
    """How one process runs: identity, data and logs, telemetry."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    node_id: str = ""  # replica id for replicated services (e.g. books-2)
    listen_host: str = ""  # bind host; empty = the host of the service's own address
    data_dir: Path = Path("data")
    log_level: str = "INFO"
    log_file: Path | None = None
    metrics_port: int = 0  # 0 = the gRPC port + 1000
    otel_exporter_otlp_endpoint: str = ""  # OTLP export is on only when set
    grpc_workers_max: int = Field(default=32, ge=1)
    shutdown_grace_s: float = Field(default=5.0, ge=0)
    rpc_timeout_s: float = Field(default=2.0, gt=0)
    tls_dir: str = ""  # ca.crt, <identity>.crt and <identity>.key (docs/trust.md); every gRPC API needs it
    tls_identity: str = ""  # empty = NODE_ID for a replica, else the service's own name
    health_port: int = Field(default=0, ge=0)  # plaintext health-only port; 0 = the gRPC port + 2000
