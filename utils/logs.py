"""Structured logging: one JSON object per line, with the service name and correlation id.

Configured once in main(); modules log through the standard `logging` module with `extra=` fields.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
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
        self._second_text = (-1, "")  # one tuple, swapped whole: a reader never pairs a second with another's text

    def _timestamp(self, created: float) -> str:
        second = int(created)
        cached_second, text = self._second_text
        if second != cached_second:  # strftime once a second, not once a line
            text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second_text = (second, text)
        return f"{text}.{int((created - second) * 1000):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": self._timestamp(record.created),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        correlation_id = current_correlation_id()
        if correlation_id:
            line["correlation_id"] = correlation_id
        fields = vars(record)
        for key in fields.keys() - _STANDARD_ATTRS:
            if not key.startswith("_"):
                line[key] = fields[key]
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        # ensure_ascii (the default) keeps every character one byte: RotatingJsonFile counts bytes by len().
        return json.dumps(line, default=str)


class RotatingJsonFile(logging.handlers.RotatingFileHandler):
    """A RotatingFileHandler that formats each line once and keeps the file's size itself.

    The stdlib's checks each record's size by formatting it a second time and stat-ing the path twice, on
    every line (bench/log_line_cost.py). Lines are ASCII (JsonLineFormatter), so len() is their size in bytes.
    """

    def __init__(self, path: Path, bytes_max: int, backups: int) -> None:
        super().__init__(path, maxBytes=bytes_max, backupCount=backups)
        self._size = os.path.getsize(path) if path.exists() else 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record) + self.terminator
            if self._size + len(text) > self.maxBytes > 0 and self._size > 0:
                self.doRollover()
                self._size = 0
            if self.stream is None:
                self.stream = self._open()
            self.stream.write(text)
            self.stream.flush()  # a line is on disk for a reader (tail -f, the tests) as soon as it is logged
            self._size += len(text)
        except Exception:
            self.handleError(record)


def _skip_unused_record_fields() -> None:
    """No line prints the caller's file and line, the thread or the process: logging need not look them up
    for every record (the logging HOWTO's 'Optimization' switches)."""
    logging._srcfile = None  # the documented switch
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def configure_logging(service: str, level: str = "INFO", log_file: Path | None = None) -> None:
    _skip_unused_record_fields()
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:  # the local fleet: a rotating file per service
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers = [RotatingJsonFile(log_file, LOG_FILE_BYTES_MAX, LOG_FILE_BACKUPS)]
    formatter = JsonLineFormatter(service)
    root = logging.getLogger()
    root.handlers.clear()
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level.upper())
    # Werkzeug's own access log would duplicate the orchestrator's structured request line.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
