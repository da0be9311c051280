"""STYLE rule 1: protocol cores import nothing that touches the network, disk, threads, clock or global random.

Walks each core module's imports (transitively within the repository) with the ast module.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE_MODULES = [
    "utils/raft/core",
    "utils/vclock.py",
    "utils/causal.py",
    "utils/causal",
    "transaction_verification/rules.py",
    "fraud_detection/rules.py",
    "fraud_detection/velocity.py",
    "fraud_detection/llm_policy.py",
    "suggestions/recommender.py",
    "order_queue/policy.py",
    "order_queue/lease.py",
    "books_database/state_machine.py",
    "order_executor/coordinator.py",
    "order_executor/recovery.py",
    "order_executor/decision_log.py",
    "order_executor/pricing.py",
    "payment_service/ledger.py",
]
FORBIDDEN = {"socket", "threading", "time", "asyncio", "grpc", "sqlite3", "os", "subprocess", "requests",
             "urllib", "http", "concurrent", "multiprocessing", "selectors", "signal", "flask", "openai"}


def _python_files(entry: str) -> list[Path]:
    path = ROOT / entry
    if path.is_dir():
        return sorted(path.rglob("*.py"))
    return [path] if path.exists() else []


def _imports(path: Path) -> list[tuple[str, int]]:
    """Top-level module names imported by `path`, except under `if TYPE_CHECKING:`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _module_file(module: str) -> Path | None:
    candidate = ROOT / Path(*module.split("."))
    for path in (candidate.with_suffix(".py"), candidate / "__init__.py"):
        if path.exists():
            return path
    return None


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _violations(start: Path) -> list[str]:
    problems: list[str] = []
    seen: set[Path] = set()
    pending = [start]
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for module, line in _imports(path):
            top = module.split(".")[0]
            if top in FORBIDDEN:
                problems.append(f"{_name(path)}:{line} imports {module}")
            elif top == "random" and module == "random":
                # Allowed only as the injected random.Random type; the module-level functions are global state.
                text = path.read_text()
                if any(f"random.{fn}(" in text for fn in ("random", "randint", "choice", "shuffle", "uniform", "seed")):
                    problems.append(f"{_name(path)}:{line} uses the global random generator")
            else:
                local = _module_file(module)
                if local is not None and "pb" not in local.parts:
                    pending.append(local)
    return problems


CORE_FILES = [f for entry in CORE_MODULES for f in _python_files(entry)]


def test_the_list_of_cores_is_not_empty() -> None:
    assert CORE_FILES, "no core module found: the layout changed, update CORE_MODULES"


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_core_module_is_pure(path: Path) -> None:
    assert _violations(path) == []


def test_the_check_catches_an_impure_import(tmp_path: Path) -> None:
    impure = tmp_path / "impure.py"
    impure.write_text("import time\nfrom socket import socket\n")
    assert len(_violations(impure)) == 2
