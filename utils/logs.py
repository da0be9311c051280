"""Structured logging: one JSON object per line, with the service name and correlation id.

Configured once in main(); modules log through the standard `logging` module with `extra=` fields.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
import time
from pathlib import Path
from typing import Any

from utils.rpc.correlation import current_correlation_id

# The local fleet's log files rotate like the containers' json-file logs (docker-compose.yaml): 10 MB, 3 kept.
LOG_FILE_BYTES_MAX = 10_000_000
LOG_FILE_BACKUPS = 3
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()) | {"message", "asctime"}


class JsonLineFormatter(logging.Formatter):
    """Formats a record as a single JSON line; extra= fields become top-level keys."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        correlation_id = current_correlation_id()
        if correlation_id:
            line["correlation_id"] = correlation_id
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(service: str, level: str = "INFO", log_file: Path | None = None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:  # the local fleet: a rotating file per service
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers = [
            logging.handlers.RotatingFileHandler(log_file, maxBytes=LOG_FILE_BYTES_MAX, backupCount=LOG_FILE_BACKUPS)
        ]
    formatter = JsonLineFormatter(service)
    root = logging.getLogger()
    root.handlers.clear()
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level.upper())
    # Werkzeug's own access log would duplicate the orchestrator's structured request line.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
