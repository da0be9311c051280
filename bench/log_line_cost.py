"""What one structured log line costs: the stdlib's rotating file against utils.logs.RotatingJsonFile.

Every served RPC writes one such line ("rpc", method, code, ms), so its cost is paid ~30 times per order.
Prints µs and Python function calls per line for each way, beside the raw cost of json.dumps plus a write.

    .venv/bin/python -m bench.log_line_cost [--lines 20000]
"""

from __future__ import annotations

import argparse
import json
import logging
import logging.handlers
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from bench.stamp import stamp
from utils.logs import LOG_FILE_BACKUPS, LOG_FILE_BYTES_MAX, JsonLineFormatter, configure_logging

# logging's own defaults, read before configure_logging turns them off for the whole process.
LOGGING_DEFAULTS = {
    key: getattr(logging, key) for key in ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing")
}
FIELDS = {"method": "/bookstore.order_queue.OrderQueue/LeaseBatch", "code": "OK", "ms": 1.23}


def _stdlib_logger(path: Path) -> logging.Logger:
    """The configuration before: logging's default record fields and the stdlib rotating handler."""
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=LOG_FILE_BYTES_MAX, backupCount=LOG_FILE_BACKUPS)
    handler.setFormatter(JsonLineFormatter("bench"))
    logger = logging.getLogger("bench.stdlib")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return logger


def _ours(path: Path) -> logging.Logger:
    configure_logging("bench", "INFO", path)  # what every service runs
    return logging.getLogger("bench.ours")


def _per_line_us(log_line: Callable[[], None], lines: int) -> float:
    started = time.perf_counter()
    for _ in range(lines):
        log_line()
    return (time.perf_counter() - started) / lines * 1e6


def _calls_per_line(log_line: Callable[[], None], lines: int = 200) -> float:
    calls = 0

    def count(_frame: FrameType, event: str, _arg: Any) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    sys.setprofile(count)
    try:
        for _ in range(lines):
            log_line()
    finally:
        sys.setprofile(None)
    return calls / lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=20_000)
    args = parser.parse_args()
    print(f"start: {stamp()}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        raw_file = (root / "raw.log").open("a")

        def raw() -> None:
            raw_file.write(json.dumps({"ts": "2026-01-01T00:00:00.000Z", "msg": "rpc", **FIELDS}) + "\n")
            raw_file.flush()

        stdlib = _stdlib_logger(root / "stdlib.log")
        ours = _ours(root / "ours.log")
        ways: dict[str, Callable[[], None]] = {
            "raw: json.dumps + write + flush": raw,
            "before: stdlib RotatingFileHandler": lambda: stdlib.info("rpc", extra=FIELDS),
            "after: RotatingJsonFile, unused fields off": lambda: ours.info("rpc", extra=FIELDS),
        }
        print(f"{'way':<44} {'µs/line':>9} {'calls/line':>11}")
        for name, way in ways.items():
            saved = {key: getattr(logging, key) for key in LOGGING_DEFAULTS}
            if name.startswith("before"):  # the stdlib row runs with logging's defaults, as every service did
                for key, value in LOGGING_DEFAULTS.items():
                    setattr(logging, key, value)
            try:
                way()  # open the files outside the timing
                us = min(_per_line_us(way, args.lines) for _ in range(3))
                calls = _calls_per_line(way)
            finally:
                for key, value in saved.items():
                    setattr(logging, key, value)
            print(f"{name:<44} {us:>9.2f} {calls:>11.0f}")
        raw_file.close()


if __name__ == "__main__":
    main()
