"""Hand-written histories for each model: the rule each one checks is in its name.

Times are small integers; return_time = inf is an operation whose outcome is unknown.
"""

from __future__ import annotations

import math

import pytest

from utils.linearizability import (
    UNKNOWN_OUTPUT,
    CheckResult,
    Operation,
    check_operations,
    counter_model,
    kv_model,
    register_model,
    stock_model,
)

INF = math.inf


def op(client: int, input: object, call: float, output: object, return_time: float) -> Operation:
    return Operation(client, input, call, output, return_time)


def write(client: int, value: int, call: float, return_time: float) -> Operation:
    return op(client, ("write", value), call, None, return_time)


def read(client: int, value: int | None, call: float, return_time: float) -> Operation:
    return op(client, ("read", None), call, value, return_time)


def cas(client: int, expected: int, new: int, ok: bool, call: float, return_time: float) -> Operation:
    return op(client, ("cas", (expected, new)), call, ok, return_time)


def check_register(*history: Operation) -> CheckResult:
    return check_operations(register_model, list(history))


# --- register -------------------------------------------------------------------------------------


def test_empty_history_is_linearizable() -> None:
    assert check_operations(register_model, []) is CheckResult.OK


def test_initial_register_reads_nil() -> None:
    assert check_register(read(0, None, 0, 1)) is CheckResult.OK
    assert check_register(read(0, 7, 0, 1)) is CheckResult.ILLEGAL


@pytest.mark.parametrize("seen", [None, 1])
def test_read_concurrent_with_write_may_see_either_value(seen: int | None) -> None:
    assert check_register(write(0, 1, 0, 10), read(1, seen, 2, 5)) is CheckResult.OK


def test_stale_read_after_write_returned_is_illegal() -> None:
    assert check_register(write(0, 1, 0, 1), read(1, None, 2, 3)) is CheckResult.ILLEGAL


def test_reads_cannot_go_back_in_time() -> None:
    # Both reads overlap the write, but once a read saw 1 a later read cannot see nil.
    history = (write(0, 1, 0, 10), read(1, 1, 1, 2), read(2, None, 3, 4))
    assert check_register(*history) is CheckResult.ILLEGAL


def test_touching_intervals_count_as_concurrent() -> None:
    # The write returns at the instant the read is called: either order is allowed.
    assert check_register(write(0, 1, 0, 5), read(1, None, 5, 6)) is CheckResult.OK


def test_unknown_write_explains_a_later_read() -> None:
    assert check_register(write(0, 1, 0, INF), read(1, 1, 5, 6)) is CheckResult.OK


def test_unknown_write_may_never_happen() -> None:
    assert check_register(write(0, 1, 0, INF), read(1, None, 5, 6)) is CheckResult.OK


def test_unknown_write_may_happen_late_but_only_once() -> None:
    late = (write(0, 1, 0, INF), read(1, None, 5, 6), read(1, 1, 7, 8))
    assert check_register(*late) is CheckResult.OK
    undone = (write(0, 1, 0, INF), read(1, 1, 5, 6), read(1, None, 7, 8))
    assert check_register(*undone) is CheckResult.ILLEGAL


def test_unknown_write_cannot_take_effect_before_its_call() -> None:
    assert check_register(read(1, 1, 0, 1), write(0, 1, 2, INF)) is CheckResult.ILLEGAL


def test_unknown_output_in_operation_is_ignored() -> None:
    # With return_time = inf the checker treats the output as unknown, whatever the record says.
    assert check_register(cas(0, 5, 6, False, 0, INF), read(1, None, 2, 3)) is CheckResult.OK


def test_cas_succeeds_only_on_the_expected_value() -> None:
    assert check_register(write(0, 1, 0, 1), cas(0, 1, 2, True, 2, 3), read(0, 2, 4, 5)) is CheckResult.OK
    assert check_register(write(0, 0, 0, 1), cas(0, 1, 2, True, 2, 3)) is CheckResult.ILLEGAL


def test_cas_fails_only_on_another_value() -> None:
    assert check_register(write(0, 1, 0, 1), cas(0, 3, 4, False, 2, 3), read(0, 1, 4, 5)) is CheckResult.OK
    assert check_register(write(0, 1, 0, 1), cas(0, 1, 4, False, 2, 3)) is CheckResult.ILLEGAL


def test_unknown_cas_applies_when_it_matches() -> None:
    history = (write(0, 1, 0, 1), cas(1, 1, 2, False, 2, INF), read(0, 2, 4, 5))
    assert check_register(*history) is CheckResult.OK


def test_unknown_output_sentinel_is_accepted_by_register_step() -> None:
    assert register_model.step(3, ("read", None), UNKNOWN_OUTPUT) == (True, 3)
    assert register_model.step(3, ("cas", (3, 4)), UNKNOWN_OUTPUT) == (True, 4)
    assert register_model.step(3, ("cas", (9, 4)), UNKNOWN_OUTPUT) == (True, 3)


def test_register_rejects_an_unknown_operation_kind() -> None:
    with pytest.raises(ValueError, match="unknown operation"):
        check_register(op(0, ("delete", None), 0, None, 1))


# --- kv -------------------------------------------------------------------------------------------


def kv(client: int, kind: str, key: str, value: str | None, call: float, output: str | None, ret: float) -> Operation:
    return op(client, (kind, key, value), call, output, ret)


def test_kv_appends_accumulate_in_linearization_order() -> None:
    history = [
        kv(0, "append", "k", "a", 0, None, 10),
        kv(1, "append", "k", "b", 0, None, 10),
        kv(2, "get", "k", None, 11, "ba", 12),
    ]
    assert check_operations(kv_model, history) is CheckResult.OK
    history[2] = kv(2, "get", "k", None, 11, "ab", 12)
    assert check_operations(kv_model, history) is CheckResult.OK
    history[2] = kv(2, "get", "k", None, 11, "a", 12)
    assert check_operations(kv_model, history) is CheckResult.ILLEGAL


def test_kv_put_replaces_and_keys_are_independent() -> None:
    history = [
        kv(0, "append", "x", "a", 0, None, 1),
        kv(0, "put", "y", "p", 2, None, 3),
        kv(1, "put", "x", "z", 4, None, 5),
        kv(1, "get", "x", None, 6, "z", 7),
        kv(1, "get", "y", None, 6, "p", 7),
        kv(1, "get", "w", None, 6, "", 7),
    ]
    assert check_operations(kv_model, history) is CheckResult.OK
    history.append(kv(2, "get", "y", None, 8, "", 9))
    assert check_operations(kv_model, history) is CheckResult.ILLEGAL


def test_kv_partitions_by_key_in_sorted_order() -> None:
    assert kv_model.partition is not None
    history = [kv(0, "get", key, None, t, "", t + 1) for t, key in enumerate(["b", "a", "b"])]
    parts = kv_model.partition(history)
    assert [[operation.input[1] for operation in part] for part in parts] == [["a"], ["b", "b"]]


# --- counter (stock per book) ---------------------------------------------------------------------


def test_counter_starts_from_the_given_stock() -> None:
    model = counter_model({"dune": 5})
    assert check_operations(model, [op(0, ("read", "dune"), 0, 5, 1)]) is CheckResult.OK
    assert check_operations(model, [op(0, ("read", "dune"), 0, 0, 1)]) is CheckResult.ILLEGAL
    assert check_operations(model, [op(0, ("read", "emma"), 0, 0, 1)]) is CheckResult.OK


def test_counter_add_negative_and_set() -> None:
    model = stock_model({"dune": 5, "emma": 1})
    history = [
        op(0, ("add", "dune", -2), 0, None, 1),
        op(1, ("add", "emma", 4), 0, None, 1),
        op(0, ("read", "dune"), 2, 3, 3),
        op(1, ("set", "emma", 9), 2, None, 3),
        op(1, ("read", "emma"), 4, 9, 5),
    ]
    assert check_operations(model, history) is CheckResult.OK
    history.append(op(0, ("read", "dune"), 6, 5, 7))
    assert check_operations(model, history) is CheckResult.ILLEGAL


def test_counter_concurrent_decrements_are_each_applied_once() -> None:
    model = counter_model({"dune": 3})
    history = [
        op(0, ("add", "dune", -1), 0, None, 5),
        op(1, ("add", "dune", -1), 0, None, 5),
        op(2, ("read", "dune"), 1, 2, 2),
        op(3, ("read", "dune"), 6, 1, 7),
    ]
    assert check_operations(model, history) is CheckResult.OK
    history[3] = op(3, ("read", "dune"), 6, 2, 7)
    assert check_operations(model, history) is CheckResult.ILLEGAL


def test_counter_lost_decrement_with_unknown_outcome_is_allowed() -> None:
    model = counter_model({"dune": 3})
    history = [op(0, ("add", "dune", -1), 0, None, INF), op(1, ("read", "dune"), 5, 3, 6)]
    assert check_operations(model, history) is CheckResult.OK


def test_counter_model_rejects_non_integer_stock() -> None:
    with pytest.raises(TypeError, match="must be an int"):
        counter_model({"dune": "5"})  # type: ignore[dict-item]
