"""The checker against the reference Jepsen etcd and KV histories, whose verdicts are known.

Data: tests/data/linearizability/ (Porcupine's test data, MIT licence; its README.md says where each file comes from).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from utils.linearizability import (
    CheckResult,
    check_operations,
    check_operations_verbose,
    kv_model,
    parse_jepsen_etcd_log,
    parse_kv_history,
    register_model,
)

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "linearizability"
# Every history decides in under a second here; the budget only stops a regression from hanging CI.
HISTORY_BUDGET_S = 30.0
ETCD_HISTORIES_TOTAL = 102
ETCD_LINEARIZABLE_TOTAL = 23


def _etcd_verdicts() -> list[tuple[str, CheckResult]]:
    verdicts = []
    for line in (DATA_DIR / "etcd" / "verdicts.tsv").read_text().splitlines()[1:]:
        name, linearizable = line.split("\t")
        verdicts.append((name, CheckResult.OK if linearizable == "true" else CheckResult.ILLEGAL))
    return verdicts


def _kv_files() -> list[str]:
    return sorted(path.name for path in (DATA_DIR / "kv").glob("c*-*.txt"))


def _assert_decided(result: CheckResult, expected: CheckResult) -> None:
    if result is CheckResult.UNKNOWN:
        pytest.skip(f"undecided within {HISTORY_BUDGET_S} s (expected {expected.value})")
    assert result is expected


def test_reference_set_is_complete() -> None:
    verdicts = _etcd_verdicts()
    assert len(verdicts) == ETCD_HISTORIES_TOTAL
    assert sum(1 for _, v in verdicts if v is CheckResult.OK) == ETCD_LINEARIZABLE_TOTAL
    assert len(_kv_files()) == 6


@pytest.mark.parametrize(("name", "expected"), _etcd_verdicts(), ids=lambda value: str(value))
def test_etcd_history_gets_its_known_verdict(name: str, expected: CheckResult) -> None:
    history = parse_jepsen_etcd_log(DATA_DIR / "etcd" / name)
    _assert_decided(check_operations(register_model, history, timeout_s=HISTORY_BUDGET_S), expected)


@pytest.mark.parametrize("name", _kv_files())
def test_kv_history_gets_its_known_verdict(name: str) -> None:
    expected = CheckResult.OK if name.endswith("-ok.txt") else CheckResult.ILLEGAL
    history = parse_kv_history(DATA_DIR / "kv" / name)
    _assert_decided(check_operations(kv_model, history, timeout_s=HISTORY_BUDGET_S), expected)


def test_illegal_etcd_report_names_the_blocked_operation() -> None:
    history = parse_jepsen_etcd_log(DATA_DIR / "etcd" / "etcd_000.log")
    report = check_operations_verbose(register_model, history, timeout_s=HISTORY_BUDGET_S)
    assert report.result is CheckResult.ILLEGAL
    assert report.blocked is not None and report.blocked not in report.longest_prefix
    assert report.blocked in report.unplaced
    assert "not linearizable" in report.message
