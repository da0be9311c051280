"""The search's contract beyond verdicts: reports, time budget, partitions, input validation, determinism.

Histories are hand-made register and KV histories.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from utils.linearizability import (
    CheckResult,
    Model,
    Operation,
    check_operations,
    check_operations_verbose,
    kv_model,
    register_model,
)


def write(client: int, value: int, call: float, return_time: float) -> Operation:
    return Operation(client, ("write", value), call, None, return_time)


def read(client: int, value: int | None, call: float, return_time: float) -> Operation:
    return Operation(client, ("read", None), call, value, return_time)


def hard_register_history(writers: int) -> list[Operation]:
    """Concurrent writes of distinct values, then a read of a value never written: illegal, and the
    search must try every order of the writes (memoisation bounds it to subsets x last value)."""
    history = [write(client, client, 0, 10) for client in range(writers)]
    return history + [read(writers, -1, 11, 12)]


def test_verbose_report_for_a_stale_read() -> None:
    history = [write(0, 1, 0, 1), write(0, 2, 2, 3), read(1, 1, 4, 5)]
    report = check_operations_verbose(register_model, history)
    assert report.result is CheckResult.ILLEGAL
    assert report.longest_prefix == (history[0], history[1])
    assert report.state_after_prefix == 2
    assert report.blocked == history[2]
    assert report.unplaced == (history[2],)
    assert "read() -> 1" in report.message and "write(2)" in report.message


def test_verbose_report_for_an_ok_history_carries_no_evidence() -> None:
    report = check_operations_verbose(register_model, [write(0, 1, 0, 1), read(1, 1, 2, 3)])
    assert report.result is CheckResult.OK
    assert report.longest_prefix == () and report.blocked is None and report.message == ""
    assert report.partitions_total == report.partitions_decided == 1


def test_report_names_the_failing_partition_only() -> None:
    history = [
        Operation(0, ("put", "a", "x"), 0, None, 1),
        Operation(0, ("get", "a", None), 2, "x", 3),
        Operation(1, ("put", "b", "y"), 0, None, 1),
        Operation(1, ("get", "b", None), 2, "", 3),
    ]
    report = check_operations_verbose(kv_model, history)
    assert report.result is CheckResult.ILLEGAL
    assert report.blocked == history[3]
    assert all(operation.input[1] == "b" for operation in report.longest_prefix + report.unplaced)


def test_search_of_many_concurrent_writes_decides_without_budget() -> None:
    assert check_operations(register_model, hard_register_history(8)) is CheckResult.ILLEGAL


def test_exhausted_budget_gives_unknown() -> None:
    assert check_operations(register_model, hard_register_history(12), timeout_s=0) is CheckResult.UNKNOWN


def test_illegal_partition_wins_over_a_timed_out_one() -> None:
    # Partition "slow" (13 ops) times out; partition "fast" is larger but sequential and illegal.
    slow = [Operation(c, ("put", "slow", str(c)), 0, None, 10) for c in range(12)]
    slow.append(Operation(99, ("get", "slow", None), 11, "never", 12))
    fast = [Operation(0, ("append", "fast", "a"), 2 * t, None, 2 * t + 1) for t in range(30)]
    fast.append(Operation(0, ("get", "fast", None), 100, "", 101))
    report = check_operations_verbose(kv_model, slow + fast, timeout_s=0)
    assert report.result is CheckResult.ILLEGAL
    assert report.blocked == fast[-1]
    assert check_operations(kv_model, slow + fast[:-1], timeout_s=0) is CheckResult.UNKNOWN


def test_check_is_deterministic() -> None:
    history = hard_register_history(6) + [write(0, 1, 20, 21), read(1, 2, 22, 23)]
    first = check_operations_verbose(register_model, history)
    assert first.result is CheckResult.ILLEGAL
    assert check_operations_verbose(register_model, list(reversed(history))) == first


def test_history_order_does_not_matter() -> None:
    history = [write(0, 1, 0, 5), read(1, 1, 1, 2), read(2, None, 0, 1)]
    assert check_operations(register_model, history) is CheckResult.OK
    assert check_operations(register_model, history[::-1]) is CheckResult.OK


def test_states_may_be_any_hashable_value() -> None:
    # A set-of-items model with frozenset states.
    model: Model[frozenset[int]] = Model(
        init=frozenset,
        step=lambda state, input, output: (
            (output == len(state), state) if input[0] == "size" else (True, state | {input[1]})
        ),
    )
    history = [
        Operation(0, ("add", 1), 0, None, 3),
        Operation(1, ("add", 1), 0, None, 3),
        Operation(2, ("size",), 4, 1, 5),
    ]
    assert check_operations(model, history) is CheckResult.OK
    assert check_operations(model, history[:2] + [Operation(2, ("size",), 4, 2, 5)]) is CheckResult.ILLEGAL


@pytest.mark.parametrize(("call", "return_time"), [(math.inf, math.inf), (5.0, 4.0), (math.nan, 1.0), (0.0, math.nan)])
def test_operation_rejects_impossible_times(call: float, return_time: float) -> None:
    with pytest.raises(ValueError):
        Operation(0, ("read", None), call, None, return_time)


def test_history_must_hold_operations() -> None:
    with pytest.raises(TypeError, match="Operation"):
        check_operations(register_model, [("read", None)])  # type: ignore[list-item]


def test_negative_budget_is_a_misuse() -> None:
    with pytest.raises(ValueError, match="timeout_s"):
        check_operations(register_model, [], timeout_s=-1)


def test_unknown_operation_the_model_never_accepts_is_left_out() -> None:
    # An account that refuses overdrafts: a withdrawal of unknown outcome that could never have
    # succeeded must be treated as never having happened, not force an illegal verdict.
    account: Model[int] = Model(
        init=lambda: 0,
        step=lambda state, input, output: (
            (output == state, state)
            if input[0] == "balance"
            else (True, state + input[1])
            if input[0] == "deposit"
            else (state >= input[1], state - input[1])
        ),
    )
    history = [
        Operation(0, ("withdraw", 5), 0, None, math.inf),
        Operation(1, ("deposit", 2), 1, None, 2),
        Operation(1, ("balance",), 3, 2, 4),
    ]
    assert check_operations(account, history) is CheckResult.OK
    history.append(Operation(2, ("balance",), 5, -3, 6))
    assert check_operations(account, history) is CheckResult.ILLEGAL


def test_unhashable_model_state_is_a_clear_misuse() -> None:
    model: Model[Any] = Model(init=list, step=lambda state, input, output: (True, [*state, input]))
    with pytest.raises(TypeError, match="must be hashable"):
        check_operations(model, [Operation(0, "x", 0, None, 1)])
