"""docs/design.md §10 rule 1: every module under a `core/` folder is pure — it imports nothing that touches the
network, disk, threads, the clock or the global random generator, directly or through the repository's modules.

The cores are found by walking the tree for folders named `core`, so a new core is checked the day it lands.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIPPED_FOLDERS = {".git", ".venv", "node_modules", "__pycache__", "build", "data", "logs", "tests"}
# Modules whose import alone reaches the outside world, a thread, the clock or the process.
FORBIDDEN = frozenset(
    {
        "asyncio",
        "concurrent",
        "flask",
        "grpc",
        "grpc_health",
        "grpc_reflection",
        "http",
        "io",
        "logging",
        "multiprocessing",
        "openai",
        "opentelemetry",
        "os",
        "pathlib",
        "prometheus_client",
        "queue",
        "requests",
        "secrets",
        "selectors",
        "shutil",
        "signal",
        "socket",
        "sqlite3",
        "subprocess",
        "sys",
        "tempfile",
        "threading",
        "time",
        "urllib",
        "uuid",
        "werkzeug",
    }
)
GLOBAL_RANDOM_CALLS = (
    "random.random(",
    "random.randint(",
    "random.randrange(",
    "random.choice(",
    "random.shuffle(",
    "random.uniform(",
    "random.seed(",
    "random.sample(",
)
# datetime's value types are pure; reading the clock through them is not (time comes in as an argument).
CLOCK_CALLS = (".today(", ".now(", ".utcnow(", "fromtimestamp(")
# Generated protobuf code and the modules that only name message types are data, not I/O.
DATA_PACKAGES = ("utils/pb", "testing/pb")


def core_folders(root: Path = ROOT) -> list[Path]:
    found: list[Path] = []
    pending = [root]
    while pending:
        folder = pending.pop()
        for child in sorted(folder.iterdir()):
            if child.is_dir() and child.name not in SKIPPED_FOLDERS and not child.name.startswith("."):
                if child.name == "core":
                    found.append(child)
                pending.append(child)
    return sorted(found)


def _imports(path: Path) -> list[tuple[str, int, tuple[str, ...]]]:
    """(module, line, names taken from it) for each import `path` runs (an `if TYPE_CHECKING:` block names
    types only)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[str, int, tuple[str, ...]]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno, ()) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno, tuple(alias.name for alias in node.names)))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _module_file(module: str, root: Path) -> Path | None:
    candidate = root / Path(*module.split("."))
    for path in (candidate.with_suffix(".py"), candidate / "__init__.py"):
        if path.exists():
            return path
    return None


def _local_modules(module: str, names: tuple[str, ...], root: Path) -> list[Path]:
    """The repository's files behind an import: the module, and the submodules a `from p import m` names;
    generated protobuf code is data and is not followed."""
    paths = [_module_file(module, root), *(_module_file(f"{module}.{name}", root) for name in names)]
    return [p for p in paths if p is not None and not any(_name(p, root).startswith(d) for d in DATA_PACKAGES)]


def _name(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def violations(start: Path, root: Path = ROOT) -> list[str]:
    """What `start` reaches that is not pure, following imports of the repository's own modules."""
    problems: list[str] = []
    seen: set[Path] = set()
    pending = [start]
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for module, line, names in _imports(path):
            top = module.split(".")[0]
            if top in FORBIDDEN:
                problems.append(f"{_name(path, root)}:{line} imports {module}")
            elif top == "datetime":
                text = path.read_text()
                if any(call in text for call in CLOCK_CALLS):
                    problems.append(f"{_name(path, root)}:{line} reads the clock through {module}")
            elif module == "random":
                # Allowed only as the injected random.Random type; the module's functions are global state.
                text = path.read_text()
                if any(call in text for call in GLOBAL_RANDOM_CALLS):
                    problems.append(f"{_name(path, root)}:{line} uses the global random generator")
            else:
                pending.extend(_local_modules(module, names, root))
    return sorted(set(problems))


CORE_FOLDERS = core_folders()
CORE_FILES = [path for folder in CORE_FOLDERS for path in sorted(folder.rglob("*.py"))]


def test_every_service_and_protocol_has_a_core() -> None:
    names = {str(folder.relative_to(ROOT)) for folder in CORE_FOLDERS}
    expected = {
        "utils/raft/core",
        "utils/flow/core",
        "transaction_verification/core",
        "fraud_detection/core",
        "suggestions/core",
        "order_queue/core",
        "order_executor/core",
        "books_database/core",
        "payment_service/core",
    }
    assert expected <= names, f"missing core folders: {sorted(expected - names)}"


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_core_module_is_pure(path: Path) -> None:
    assert violations(path) == []


def test_the_walk_finds_a_new_core_folder(tmp_path: Path) -> None:
    (tmp_path / "shop" / "core").mkdir(parents=True)
    (tmp_path / ".venv" / "core").mkdir(parents=True)
    assert core_folders(tmp_path) == [tmp_path / "shop" / "core"]


def test_the_check_catches_an_impure_import(tmp_path: Path) -> None:
    impure = tmp_path / "impure.py"
    impure.write_text("import time\nfrom socket import socket\nimport random\nx = random.random()\n")
    assert len(violations(impure, tmp_path)) == 3


def test_the_check_follows_local_imports(tmp_path: Path) -> None:
    (tmp_path / "helper.py").write_text("import threading\n")
    start = tmp_path / "start.py"
    start.write_text("from helper import thing\n")
    assert violations(start, tmp_path) == ["helper.py:1 imports threading"]


def test_an_injected_random_generator_is_allowed(tmp_path: Path) -> None:
    fine = tmp_path / "fine.py"
    fine.write_text("import random\n\ndef pick(rng: random.Random) -> int:\n    return rng.randint(1, 6)\n")
    assert violations(fine, tmp_path) == []
