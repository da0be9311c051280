"""STYLE rule 1 for the Raft core: no module of utils/raft/core touches I/O, threads, clock or global random.

`random` is allowed only under `if TYPE_CHECKING:` (the injected generator's type).
"""
from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[3] / "utils" / "raft" / "core"
FORBIDDEN = {"socket", "threading", "time", "asyncio", "grpc", "sqlite3", "os", "random", "subprocess",
             "multiprocessing", "concurrent", "selectors", "signal", "logging", "datetime", "io", "pathlib"}


def _runtime_imports(path: Path) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return  # annotations only
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), filename=str(path)))
    return found


def test_core_modules_import_nothing_impure() -> None:
    files = sorted(CORE.rglob("*.py"))
    assert len(files) >= 8
    offenders = []
    for path in files:
        for module, line in _runtime_imports(path):
            top = module.split(".")[0]
            if top in FORBIDDEN or (top == "utils" and not module.startswith("utils.raft.core")):
                offenders.append(f"{path.name}:{line} imports {module}")
    assert offenders == []


def test_the_walk_would_catch_an_impure_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import time\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import random\n")
    assert [m for m, _ in _runtime_imports(bad)] == ["time", "typing"]
