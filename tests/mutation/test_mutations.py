"""The mutation catalog stays true to the code, and its CI subset is killed by the suite.

The full list runs with `make mutate` (minutes); here only the catalog check and the --fast subset (seconds).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing import mutate
from testing.mutations import MUTATIONS, Mutation

FAST = [m for m in MUTATIONS if m.fast]
_BUDGET_S = 240.0


@pytest.fixture(scope="module")
def tree() -> Iterator[Path]:
    copy = mutate.make_scratch()
    try:
        mutate.check_imports_from(copy)
        yield copy
    finally:
        shutil.rmtree(copy.parent)


def test_every_catalogued_text_occurs_exactly_once_in_the_tree() -> None:
    assert mutate.check_catalog(MUTATIONS) == []


def test_the_catalog_covers_raft_2pc_and_the_causal_gate_with_a_fast_subset() -> None:
    prefixes = {m.id.split("-", 1)[0] for m in MUTATIONS}
    assert {"raft", "2pc", "causal", "vclock"} <= prefixes
    assert {m.id.split("-", 1)[0] for m in FAST} >= {"raft", "2pc"}


def test_the_fast_subset_tests_pass_unmutated(tree: Path) -> None:
    """A kill means something only if the same tests pass on the code as it is (and run without the plugins)."""
    tests = list(dict.fromkeys(t for m in FAST for t in (m.fast_tests or m.tests)))
    code, output, _ = mutate.run_tests(tree, tests, _BUDGET_S)
    assert code == 0, output[-3000:]


@pytest.mark.parametrize("mutation", FAST, ids=[m.id for m in FAST])
def test_the_fast_subset_is_killed(tree: Path, mutation: Mutation) -> None:
    # Each is killed by a core test within seconds; the budget only bounds a machine under heavy load.
    result = mutate.run_mutation(tree, mutation, timeout_s=_BUDGET_S, fast=True)
    assert result.verdict is mutate.Verdict.KILLED, mutate.format_table([result])
    assert (tree / mutation.file).read_text(encoding="utf-8") == (mutate.ROOT / mutation.file).read_text(
        encoding="utf-8"
    ), "the runner must restore the mutated file"


def test_a_change_the_tests_cannot_see_is_reported_as_survived(tree: Path) -> None:
    """The runner's honesty: a harmless edit passes every test and is reported so, not as a kill."""
    harmless = Mutation(
        id="harmless",
        rule="none: a comment changed",
        file="utils/raft/core/quorum.py",
        original="    matches = sorted(match_indexes, reverse=True)\n",
        replacement="    matches = sorted(match_indexes, reverse=True)  # mutated comment\n",
        tests=("tests/core/raft/test_election.py",),
    )
    assert mutate.check_catalog([harmless]) == []
    result = mutate.run_mutation(tree, harmless, timeout_s=_BUDGET_S)
    assert result.verdict is mutate.Verdict.SURVIVED, result.detail
    assert "passed" in result.detail


def test_a_missing_original_text_fails_loudly(tree: Path) -> None:
    stale = Mutation("stale", "none", "utils/raft/core/quorum.py", "text that is not there", "x", ("tests/core",))
    assert mutate.check_catalog([stale]) == [
        "stale: the original text occurs 0 times in utils/raft/core/quorum.py (must be exactly once)"
    ]
    with pytest.raises(mutate.CatalogError):
        mutate.run_mutation(tree, stale)
