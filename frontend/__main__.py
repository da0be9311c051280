"""`python -m frontend`: serves the storefront page on FRONTEND_HOST:FRONTEND_PORT.

The page calls the orchestrator at ORCHESTRATOR_URL (told to it by /config.js).
"""

from __future__ import annotations

import logging
import signal
import sys

from frontend.app import create_app
from frontend.settings import FrontendSettings
from utils.logs import configure_logging
from utils.settings import FleetSettings, RuntimeSettings
from utils.web.server import HttpLimits, WsgiServer

log = logging.getLogger(__name__)


def main() -> int:
    fleet, runtime, own = FleetSettings(), RuntimeSettings(), FrontendSettings()
    configure_logging("frontend", runtime.log_level, runtime.log_file)
    app = create_app(
        fleet.orchestrator_url, own.frontend_cluster_poll_ms, own.frontend_order_poll_ms, own.frontend_order_watch_s
    )
    host = runtime.listen_host or fleet.frontend_host
    # The gateway's server (utils/web/server.py): the same deadlines and bounds; GETs of static files need few threads.
    limits = HttpLimits(body_bytes_max=16 * 1024, connections_max=4096, threads=8)
    server = WsgiServer(app, host, fleet.frontend_port, limits, name="frontend", stop_grace_s=runtime.shutdown_grace_s)
    server.bind()
    log.info("serving the storefront", extra={"host": host, "port": server.port, "api": fleet.orchestrator_url})
    server.run(stop_signals=(signal.SIGTERM, signal.SIGINT))
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
