"""`python -m orchestrator`: the HTTP gateway on ORCHESTRATOR_PORT, with the validation flow's FlowReport server.

Settings are read once here; orchestrator/assembly.py builds the app and its clients, orchestrator/edge_server.py
the HTTP server in front of it (/metrics is served on the HTTP port itself; docs/gateway.md).
"""

from __future__ import annotations

import logging
import signal

from orchestrator.assembly import assembled_gateway
from orchestrator.edge_server import gateway_server
from orchestrator.settings import OrchestratorSettings
from utils.datafiles import secure_process_files
from utils.logs import configure_logging
from utils.rpc.trust import install_trust, trust_from
from utils.settings import FleetSettings, RuntimeSettings
from utils.telemetry import configure_telemetry

log = logging.getLogger("orchestrator")


def main() -> None:
    fleet, runtime, own = FleetSettings(), RuntimeSettings(), OrchestratorSettings()
    configure_logging("orchestrator", runtime.log_level, runtime.log_file)
    configure_telemetry("orchestrator", runtime.otel_exporter_otlp_endpoint)
    secure_process_files(runtime.data_dir, runtime.data_dir / "orchestrator")  # owner-only (docs/operations.md)
    install_trust(trust_from(runtime, fleet, "orchestrator"))
    try:
        with assembled_gateway(fleet, runtime, own) as app:
            server = gateway_server(app, fleet, runtime, own)
            server.bind()
            log.info(
                "serving",
                extra={"host": server.host, "port": server.port, "checkouts_in_flight_max": own.in_flight_max()},
            )
            server.run(stop_signals=(signal.SIGTERM, signal.SIGINT))
    finally:
        log.info("stopped")


if __name__ == "__main__":
    main()
