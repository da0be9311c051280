"""What ships: the wheel and the container image hold the services and utils/, never the test harness,
the tests, the benchmarks or the chaos tool; and no shipped module imports any of those."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOT_SHIPPED = ("testing", "tests", "bench", "chaos")
SHIPPED = (
    "utils",
    "orchestrator",
    "transaction_verification",
    "fraud_detection",
    "suggestions",
    "order_queue",
    "order_executor",
    "books_database",
    "payment_service",
    "frontend",
)


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    out = tmp_path_factory.mktemp("wheel")
    # Built from a copy: setuptools writes build/ and *.egg-info beside the sources it builds.
    source = tmp_path_factory.mktemp("source") / "checkout"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "data", "logs", ".build", "*.egg-info", "__pycache__", ".*_cache"
        ),
    )
    # --no-build-isolation: the venv's setuptools builds it, so no index is needed.
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(source)],
        check=True,
        cwd=source,
        timeout=240,
    )
    (wheel,) = out.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_the_wheel_holds_no_test_code(wheel_names: set[str]) -> None:
    tops = {name.split("/")[0] for name in wheel_names if "/" in name and ".dist-info" not in name}
    assert tops.isdisjoint(NOT_SHIPPED), sorted(tops & set(NOT_SHIPPED))
    assert set(SHIPPED) <= tops, sorted(set(SHIPPED) - tops)


def test_the_wheel_carries_the_data_the_services_read(wheel_names: set[str]) -> None:
    assert "utils/catalog/books.json" in wheel_names
    assert "utils/api/openapi.yaml" in wheel_names
    assert "frontend/static/index.html" in wheel_names


def test_the_image_leaves_test_code_out() -> None:
    ignored = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert set(NOT_SHIPPED) <= ignored, sorted(set(NOT_SHIPPED) - ignored)


def _imported_tops(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    tops: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            tops.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            tops.add(node.module.split(".")[0])
    return tops


def test_no_shipped_module_imports_test_code() -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {sorted(_imported_tops(path) & set(NOT_SHIPPED))}"
        for package in SHIPPED
        for path in sorted((ROOT / package).rglob("*.py"))
        if _imported_tops(path) & set(NOT_SHIPPED)
    ]
    assert offenders == []
