"""Properties: histories made by a sequential run with widened intervals are linearizable, and the
search agrees with brute-force enumeration of orders on small random histories."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from utils.linearizability import (
    UNKNOWN_OUTPUT,
    CheckResult,
    Model,
    Operation,
    check_operations,
    counter_model,
    kv_model,
    register_model,
)

VALUES = st.integers(min_value=0, max_value=3)
KEYS = st.sampled_from(["a", "b"])
# How an operation ends in the generated run: it returned, or its outcome is unknown and it either
# took effect at its point in the run or never did.
FATES = st.sampled_from(["returned"] * 6 + ["unknown_applied", "unknown_lost"])

REGISTER_INPUTS = st.one_of(
    st.just(("read", None)),
    st.tuples(st.just("write"), VALUES),
    st.tuples(st.just("cas"), st.tuples(VALUES, VALUES)),
)
KV_INPUTS = st.one_of(
    st.tuples(st.just("get"), KEYS, st.none()),
    st.tuples(st.sampled_from(["put", "append"]), KEYS, st.sampled_from(["x", "y", "z"])),
)
COUNTER_INPUTS = st.one_of(
    st.tuples(st.just("read"), KEYS),
    st.tuples(st.just("add"), KEYS, st.integers(min_value=-2, max_value=2)),
    st.tuples(st.just("set"), KEYS, VALUES),
)
COUNTER_START = {"a": 5}


# Naive sequential objects, written independently of the models: (state, input) -> (output, state).
def run_register(state: Any, input: Any) -> tuple[Any, Any]:
    kind, argument = input
    if kind == "read":
        return state, state
    if kind == "write":
        return None, argument
    return (True, argument[1]) if state == argument[0] else (False, state)


def run_kv(state: dict[str, str], input: Any) -> tuple[Any, dict[str, str]]:
    kind, key, value = input
    current = state.get(key, "")
    if kind == "get":
        return current, state
    return None, {**state, key: value if kind == "put" else current + value}


def run_counter(state: dict[str, int], input: Any) -> tuple[Any, dict[str, int]]:
    current = state.get(input[1], COUNTER_START.get(input[1], 0))
    if input[0] == "read":
        return current, state
    return None, {**state, input[1]: current + input[2] if input[0] == "add" else input[2]}


CASES: dict[str, tuple[Model[Any], st.SearchStrategy[Any], Callable[..., Any], Any]] = {
    "register": (register_model, REGISTER_INPUTS, run_register, None),
    "kv": (kv_model, KV_INPUTS, run_kv, {}),
    "counter": (counter_model(COUNTER_START), COUNTER_INPUTS, run_counter, {}),
}


@st.composite
def sequential_histories(draw: st.DrawFn, case: str) -> list[Operation]:
    """Run operations one after another at points 0, 10, 20, ...; then widen each operation's
    interval around its point at random, so intervals overlap but still contain the point."""
    _model, inputs, run, state = CASES[case]
    steps = draw(st.lists(st.tuples(inputs, FATES, st.integers(0, 25), st.integers(0, 25)), max_size=14))
    history = []
    for position, (input, fate, before, after) in enumerate(steps):
        point = 10 * position
        if fate == "unknown_lost":
            history.append(Operation(position, input, point - before, UNKNOWN_OUTPUT, math.inf))
            continue
        output, state = run(state, input)
        return_time = math.inf if fate == "unknown_applied" else point + after
        history.append(Operation(position, input, point - before, output, return_time))
    return history


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(CASES)).flatmap(lambda case: st.tuples(st.just(case), sequential_histories(case))))
def test_histories_from_a_sequential_run_are_linearizable(case_and_history: tuple[str, list[Operation]]) -> None:
    case, history = case_and_history
    assert check_operations(CASES[case][0], history) is CheckResult.OK


@settings(max_examples=100, deadline=None)
@given(sequential_histories("register"), st.data())
def test_a_read_of_a_never_written_value_is_illegal(history: list[Operation], data: st.DataObject) -> None:
    at = data.draw(st.integers(0, len(history)))
    call = data.draw(st.integers(-30, 10 * len(history)))
    bad = history[:at] + [Operation(99, ("read", None), call, 42, call + 1)] + history[at:]
    assert check_operations(register_model, bad) is CheckResult.ILLEGAL


# --- agreement with brute force on arbitrary (mostly non-linearizable) small histories -------------


def brute_force_linearizable(model: Model[Any], history: list[Operation]) -> bool:
    """Try every subset of the unknown operations and every order respecting real time."""
    known = [operation for operation in history if not operation.is_outcome_unknown]
    unknown = [operation for operation in history if operation.is_outcome_unknown]
    for size in range(len(unknown) + 1):
        for chosen in itertools.combinations(unknown, size):
            for order in itertools.permutations(known + list(chosen)):
                if respects_real_time(order) and replays(model, order):
                    return True
    return False


def respects_real_time(order: tuple[Operation, ...]) -> bool:
    return all(
        not later.return_time < earlier.call for index, earlier in enumerate(order) for later in order[index + 1 :]
    )


def replays(model: Model[Any], order: tuple[Operation, ...]) -> bool:
    state = model.init()
    for operation in order:
        output = UNKNOWN_OUTPUT if operation.is_outcome_unknown else operation.output
        legal, state = model.step(state, operation.input, output)
        if not legal:
            return False
    return True


@st.composite
def random_register_histories(draw: st.DrawFn) -> list[Operation]:
    history = []
    for client in range(draw(st.integers(0, 6))):
        input = draw(REGISTER_INPUTS)
        call = draw(st.integers(0, 12))
        return_time = math.inf if draw(st.integers(0, 5)) == 0 else call + draw(st.integers(0, 6))
        if input[0] == "read":
            output: Any = draw(st.one_of(st.none(), VALUES))
        elif input[0] == "cas":
            output = draw(st.booleans())
        else:
            output = None
        history.append(Operation(client, input, call, output, return_time))
    return history


@settings(max_examples=300, deadline=None)
@given(random_register_histories())
def test_search_agrees_with_brute_force(history: list[Operation]) -> None:
    expected = CheckResult.OK if brute_force_linearizable(register_model, history) else CheckResult.ILLEGAL
    assert check_operations(register_model, history) is expected
