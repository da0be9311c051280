"""The services' log file: one JSON line per record, rotated by size like the stdlib's, each line formatted once.

A real file in a temporary folder, written through the logging module as every service writes it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from utils.logs import JsonLineFormatter, RotatingJsonFile


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("tests.log_file")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    yield logger
    for handler in logger.handlers[:]:
        logger.removeHandler(handler)
        handler.close()


def _attach(logger: logging.Logger, path: Path, bytes_max: int, backups: int = 2) -> RotatingJsonFile:
    handler = RotatingJsonFile(path, bytes_max, backups)
    handler.setFormatter(JsonLineFormatter("test"))
    logger.addHandler(handler)
    return handler


def _records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_line_is_whole_json_with_its_extra_fields_and_no_file_outgrows_its_bound(
    tmp_path: Path, logger: logging.Logger
) -> None:
    path = tmp_path / "svc.log"
    _attach(logger, path, bytes_max=1_000, backups=2)
    for n in range(60):
        logger.info("rpc", extra={"n": n, "method": "/x.Y/Z"})
    files = [path, path.with_name("svc.log.1"), path.with_name("svc.log.2")]
    assert all(f.stat().st_size <= 1_000 for f in files)
    assert not path.with_name("svc.log.3").exists()  # only `backups` old files are kept
    newest = [r["n"] for f in reversed(files) for r in _records(f)]
    assert newest == list(range(60 - len(newest), 60))  # nothing lost or reordered inside what is kept
    assert all(r["msg"] == "rpc" and r["method"] == "/x.Y/Z" and r["service"] == "test" for r in _records(path))


def test_the_size_of_a_file_already_there_counts(tmp_path: Path, logger: logging.Logger) -> None:
    path = tmp_path / "svc.log"
    path.write_text("x" * 950 + "\n")  # a restarted service appends to its last file
    _attach(logger, path, bytes_max=1_000)
    logger.info("rpc", extra={"padding": "y" * 80})
    assert path.with_name("svc.log.1").read_text() == "x" * 950 + "\n"
    assert [r["padding"] for r in _records(path)] == ["y" * 80]


def test_a_line_longer_than_the_bound_is_still_written_whole(tmp_path: Path, logger: logging.Logger) -> None:
    path = tmp_path / "svc.log"
    _attach(logger, path, bytes_max=100)
    logger.info("long", extra={"padding": "z" * 300})
    assert [r["padding"] for r in _records(path)] == ["z" * 300]


def test_the_timestamp_is_utc_to_the_millisecond() -> None:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "m", (), None)
    record.created = 1_700_000_000.0421
    formatter = JsonLineFormatter("test")
    assert json.loads(formatter.format(record))["ts"] == "2023-11-14T22:13:20.042Z"
    record.created += 1.5  # a new second: the cached text is rebuilt
    assert json.loads(formatter.format(record))["ts"] == "2023-11-14T22:13:21.542Z"
