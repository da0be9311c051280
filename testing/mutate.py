"""Mutation runner: applies each catalogued mutation alone to a scratch copy of the tree and runs its tests.

`python -m testing.mutate [--only ID ...] [--fast] [--list]` prints killed / survived / timeout per mutation and
exits non-zero unless every one was killed. The working tree itself is never modified.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from testing.mutations.catalog import MUTATIONS, Mutation

ROOT = Path(__file__).resolve().parent.parent
# Never copied: the virtualenv is symlinked; data, logs and caches are per-run state.
_EXCLUDED = frozenset(
    {".venv", ".git", "data", "logs", ".build", ".hypothesis", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
)
_EXCLUDED_SUFFIXES = (".egg-info",)
_KILL_GRACE_S = 5.0
# Plugins no mutated test needs; loading them is most of a short run's cost (the baseline run proves them unneeded).
_PLUGINS_OFF = ("cacheprovider", "schemathesis", "anyio")
_OUTPUT_TAIL_LINES = 15


class Verdict(Enum):
    KILLED = "killed"  # the tests failed: the mutation was noticed
    SURVIVED = "survived"  # every test passed on the broken code
    TIMEOUT = "timeout"  # the tests ran past the budget: not proven either way
    ERROR = "error"  # pytest could not run the tests (bad path, nothing collected): not a kill


@dataclass(frozen=True, slots=True)
class Result:
    mutation: Mutation
    verdict: Verdict
    seconds: float
    detail: str  # the first failing test, or pytest's last words


class CatalogError(ValueError):
    """A mutation's original text is not found exactly once: the catalog no longer matches the code."""


def check_catalog(mutations: Iterable[Mutation], root: Path = ROOT) -> list[str]:
    """Every problem with the catalog against the tree at `root`: duplicate ids, texts not found exactly once."""
    problems: list[str] = []
    seen: set[str] = set()
    for m in mutations:
        if m.id in seen:
            problems.append(f"{m.id}: duplicate id")
        seen.add(m.id)
        if m.original == m.replacement:
            problems.append(f"{m.id}: the replacement equals the original")
        if not m.tests:
            problems.append(f"{m.id}: no tests to run")
        path = root / m.file
        if not path.is_file():
            problems.append(f"{m.id}: {m.file} does not exist")
            continue
        count = path.read_text(encoding="utf-8").count(m.original)
        if count != 1:
            problems.append(f"{m.id}: the original text occurs {count} times in {m.file} (must be exactly once)")
        if m.fast_tests and not m.fast:
            problems.append(f"{m.id}: fast_tests without fast=True")
        for test in m.fast_tests:
            if not (root / test.split("::", 1)[0]).exists():
                problems.append(f"{m.id}: fast test path {test} does not exist")
        paths = [Path(test.split("::", 1)[0]) for test in m.tests]
        for test, test_path in zip(m.tests, paths, strict=True):
            if not (root / test_path).exists():
                problems.append(f"{m.id}: test path {test} does not exist")
            if any(other != test_path and other in test_path.parents for other in paths):
                # pytest would collect it in its folder's order, so "fastest first" would not hold.
                problems.append(f"{m.id}: test path {test} is inside another of its test paths")
    return problems


def _ignore(directory: str, names: list[str]) -> set[str]:
    del directory
    return {n for n in names if n in _EXCLUDED or n == "__pycache__" or n.endswith(_EXCLUDED_SUFFIXES)}


def make_scratch(root: Path = ROOT) -> Path:
    """A copy of the tree (without its state and caches) with the virtualenv symlinked in."""
    scratch = Path(tempfile.mkdtemp(prefix="mutate-"))
    tree = scratch / "tree"
    shutil.copytree(root, tree, ignore=_ignore, symlinks=True)
    if (root / ".venv").is_dir():
        (tree / ".venv").symlink_to(root / ".venv", target_is_directory=True)
    return tree


def _python(tree: Path) -> Path:
    """The tree's virtualenv interpreter, or this one when the tree has none (PYTHONPATH still picks the copy)."""
    venv = tree / ".venv" / "bin" / "python"
    return venv if venv.exists() else Path(sys.executable)


def _env(tree: Path, extra: Sequence[tuple[str, str]] = ()) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # a mutated module is never served from a stale .pyc
    env["PYTHONPATH"] = str(tree)  # the copy shadows the editable install of the real tree
    env.update(extra)
    return env


def check_imports_from(tree: Path) -> None:
    """Fails loudly when the scratch copy's interpreter would import the real tree's code instead of the copy's."""
    probe = "import utils, testing; print(utils.__file__); print(testing.__file__)"
    out = subprocess.run(
        [str(_python(tree)), "-c", probe], cwd=tree, env=_env(tree), capture_output=True, text=True, timeout=60
    )
    files = out.stdout.split()
    if (
        out.returncode != 0
        or len(files) != 2
        or not all(Path(f).resolve().is_relative_to(tree.resolve()) for f in files)
    ):
        raise RuntimeError(f"the scratch copy does not import its own code: {out.stdout!r} {out.stderr!r}")


def run_tests(
    tree: Path, tests: Sequence[str], timeout_s: float, extra_env: Sequence[tuple[str, str]] = ()
) -> tuple[int | None, str, float]:
    """Runs pytest on `tests` in `tree`, stopping at the first failure; (exit code or None on timeout, output, s)."""
    plugins_off = [option for plugin in _PLUGINS_OFF for option in ("-p", f"no:{plugin}")]
    command = [str(_python(tree)), "-m", "pytest", "-x", "-q", "--no-header", *plugins_off, *tests]
    started = time.monotonic()
    # A session of its own, so a timeout ends every process the tests started (and only those).
    process = subprocess.Popen(
        command,
        cwd=tree,
        env=_env(tree, extra_env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout_s)
        code: int | None = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=_KILL_GRACE_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
        code = None
    return code, output, time.monotonic() - started


def _verdict(code: int | None) -> Verdict:
    if code is None:
        return Verdict.TIMEOUT
    if code == 0:
        return Verdict.SURVIVED
    # pytest: 1 tests failed, 2 interrupted (a collection error: the mutated code broke an import), 3 internal error;
    # 4 usage error and 5 nothing collected mean the tests never ran.
    return Verdict.ERROR if code in (4, 5) else Verdict.KILLED


def _detail(output: str, verdict: Verdict) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    if verdict is Verdict.KILLED:
        failed = next((line for line in lines if line.startswith(("FAILED ", "ERROR "))), "")
        if failed:
            return failed.split(" - ", 1)[0]
    return lines[-1] if lines else ""


def run_mutation(tree: Path, mutation: Mutation, timeout_s: float | None = None, fast: bool = False) -> Result:
    """Applies `mutation` to the copy, runs its tests (`fast`: its CI tests), and restores the file whatever happens."""
    path = tree / mutation.file
    original = path.read_text(encoding="utf-8")
    if original.count(mutation.original) != 1:
        raise CatalogError(f"{mutation.id}: the original text is not found exactly once in {mutation.file}")
    path.write_text(original.replace(mutation.original, mutation.replacement), encoding="utf-8")
    try:
        tests = (mutation.fast_tests or mutation.tests) if fast else mutation.tests
        code, output, seconds = run_tests(tree, tests, timeout_s or mutation.timeout_s, mutation.env)
    finally:
        path.write_text(original, encoding="utf-8")
    verdict = _verdict(code)
    return Result(mutation, verdict, seconds, _detail(output, verdict))


def select(only: Sequence[str], fast: bool) -> list[Mutation]:
    known = {m.id for m in MUTATIONS}
    unknown = [i for i in only if i not in known]
    if unknown:
        raise SystemExit(f"unknown mutation id(s): {', '.join(unknown)}; see --list")
    chosen = [m for m in MUTATIONS if (not only or m.id in only) and (not fast or m.fast)]
    if not chosen:
        raise SystemExit("no mutation selected")
    return chosen


def format_table(results: Sequence[Result]) -> str:
    width = max(len(r.mutation.id) for r in results)
    lines = [f"{'mutation':<{width}}  {'result':<8}  {'seconds':>7}  detail"]
    for r in results:
        lines.append(f"{r.mutation.id:<{width}}  {r.verdict.value:<8}  {r.seconds:7.1f}  {r.detail}")
    counts = {v: sum(1 for r in results if r.verdict is v) for v in Verdict}
    lines.append(
        f"{len(results)} mutations: "
        + ", ".join(f"{n} {v.value}" for v, n in counts.items() if n)
        + f"; {sum(r.seconds for r in results):.0f}s of tests"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testing.mutate", description=__doc__)
    parser.add_argument("--only", action="append", default=[], metavar="ID", help="run this mutation (repeatable)")
    parser.add_argument("--fast", action="store_true", help="only the CI subset, each against its killing tests")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--no-baseline", action="store_true", help="skip running the tests on the unmutated copy")
    parser.add_argument("--timeout", type=float, default=None, help="override every mutation's budget (seconds)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy")
    args = parser.parse_args(argv)

    problems = check_catalog(MUTATIONS)
    if problems:
        print("the mutation catalog does not match the tree:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    chosen = select(args.only, args.fast)
    if args.list:
        for m in chosen:
            print(f"{m.id:<44} {'fast ' if m.fast else '     '}{m.file}  [{' '.join(m.tests)}]\n    {m.rule}")
        return 0

    tree = make_scratch()
    try:
        check_imports_from(tree)
        if not args.no_baseline:
            # A kill means something only if the same tests pass on the code as it is.
            selected = ((m.fast_tests or m.tests) if args.fast else m.tests for m in chosen)
            tests = list(dict.fromkeys(t for group in selected for t in group))
            budget = args.timeout or max(m.timeout_s for m in chosen)
            code, output, seconds = run_tests(tree, tests, budget)
            if code != 0:
                print(output[-4000:], file=sys.stderr)
                print(f"baseline: the unmutated tests do not pass (exit {code}, {seconds:.0f}s)", file=sys.stderr)
                return 2
            print(f"baseline: {len(tests)} test paths pass unmutated in {seconds:.0f}s", flush=True)
        results: list[Result] = []
        for m in chosen:
            result = run_mutation(tree, m, args.timeout, fast=args.fast)
            print(f"  {m.id}: {result.verdict.value} ({result.seconds:.1f}s)", flush=True)
            results.append(result)
    finally:
        if args.keep:
            print(f"scratch copy kept at {tree}")
        else:
            shutil.rmtree(tree.parent, ignore_errors=True)
    print(format_table(results))
    return 0 if all(r.verdict is Verdict.KILLED for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
