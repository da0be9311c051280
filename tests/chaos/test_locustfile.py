"""bench/locustfile.py stays valid Python, and imports cleanly where Locust is installed (it is not a dependency)."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

LOCUSTFILE = Path(__file__).resolve().parents[2] / "bench" / "locustfile.py"


def test_locustfile_parses_and_names_its_thresholds() -> None:
    tree = ast.parse(LOCUSTFILE.read_text(), filename=str(LOCUSTFILE))
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert {"P95_MS_MAX", "ERROR_RATE_MAX", "plan_order"} <= names


def test_locustfile_imports_with_locust() -> None:
    pytest.importorskip("locust")
    spec = importlib.util.spec_from_file_location("bench_locustfile", LOCUSTFILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.Shopper.wait_time is not None
