"""`python -m frontend`: serves the storefront page on FRONTEND_HOST:FRONTEND_PORT.

The page calls the orchestrator at ORCHESTRATOR_URL (told to it by /config.js).
"""

from __future__ import annotations

import logging
import sys

from frontend.app import create_app
from frontend.settings import FrontendSettings
from utils.logs import configure_logging
from utils.settings import FleetSettings, RuntimeSettings

log = logging.getLogger(__name__)


def main() -> int:
    fleet, runtime, own = FleetSettings(), RuntimeSettings(), FrontendSettings()
    configure_logging("frontend", runtime.log_level, runtime.log_file)
    app = create_app(
        fleet.orchestrator_url, own.frontend_cluster_poll_ms, own.frontend_order_poll_ms, own.frontend_order_watch_s
    )
    host = runtime.listen_host or fleet.frontend_host
    log.info("serving the storefront", extra={"host": host, "port": fleet.frontend_port, "api": fleet.orchestrator_url})
    # Flask's threaded server is enough for static files; the page's load goes to the orchestrator.
    app.run(host=host, port=fleet.frontend_port, threaded=True, use_reloader=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
