"""Sequential specifications the checker tests histories against: a register, a string KV store, a counter.

A model is an initial state plus a pure step (state, input, output) -> (legal, next state); states are hashable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from utils.linearizability.operation import UNKNOWN_OUTPUT, Operation

S = TypeVar("S")


@dataclass(frozen=True)
class Model(Generic[S]):
    """A sequential object: `init()` gives the start state, `step` decides one operation.

    step(state, input, output) returns (True, next_state) if `output` is a legal answer to `input`
    in `state`; output is UNKNOWN_OUTPUT for an operation whose outcome was never seen, and then
    any answer is legal. States must be hashable: the checker memoises on them.
    `partition` splits a history into independent sub-histories (e.g. one per key), each checked
    alone (P-compositionality, Horn & Kroening 2015). `describe_operation(input, output)` makes
    failure reports readable.
    """

    init: Callable[[], S]
    step: Callable[[S, Any, Any], tuple[bool, S]]
    partition: Callable[[Sequence[Operation]], list[list[Operation]]] | None = None
    describe_operation: Callable[[Any, Any], str] | None = None


def partition_by_input_field(field_index: int) -> Callable[[Sequence[Operation]], list[list[Operation]]]:
    """A partition function grouping operations by input[field_index] (the key), keys in sorted order."""

    def partition(history: Sequence[Operation]) -> list[list[Operation]]:
        groups: dict[Any, list[Operation]] = {}
        for operation in history:
            groups.setdefault(operation.input[field_index], []).append(operation)
        return [groups[key] for key in sorted(groups, key=repr)]

    return partition


# --- register (Jepsen etcd): ("read", None) / ("write", v) / ("cas", (expected, new)) ---------------

RegisterState = Any  # the held value, None when empty


def _register_step(state: RegisterState, input: Any, output: Any) -> tuple[bool, RegisterState]:
    kind, argument = input
    if kind == "read":
        return (output is UNKNOWN_OUTPUT or output == state), state
    if kind == "write":
        return True, argument
    if kind == "cas":
        expected, new = argument
        if state == expected:
            return (output is True or output is UNKNOWN_OUTPUT), new
        return (output is False or output is UNKNOWN_OUTPUT), state
    raise ValueError(f"register model: unknown operation {input!r}")


def _describe_register(input: Any, output: Any) -> str:
    kind, argument = input
    if kind == "read":
        return f"read() -> {output!r}"
    if kind == "write":
        return f"write({argument!r})"
    return f"cas({argument[0]!r} -> {argument[1]!r}) -> {output!r}"


register_model: Model[RegisterState] = Model(
    init=lambda: None, step=_register_step, describe_operation=_describe_register
)


# --- string KV store: ("get"|"put"|"append", key, value), get outputs the string ----------------------


def _kv_step(state: str, input: Any, output: Any) -> tuple[bool, str]:
    kind, _key, value = input
    if kind == "get":
        return (output is UNKNOWN_OUTPUT or output == state), state
    if kind == "put":
        return True, value
    if kind == "append":
        return True, state + value
    raise ValueError(f"kv model: unknown operation {input!r}")


def _describe_kv(input: Any, output: Any) -> str:
    kind, key, value = input
    if kind == "get":
        return f"get({key!r}) -> {output!r}"
    return f"{kind}({key!r}, {value!r})"


kv_model: Model[str] = Model(
    init=lambda: "",
    step=_kv_step,
    partition=partition_by_input_field(1),
    describe_operation=_describe_kv,
)


# --- per-book integer counter: ("read", book) -> int, ("add", book, delta), ("set", book, value) -----


def counter_model(initial: Mapping[str, int]) -> Model[int | None]:
    """A counter per key (book), starting from `initial[key]` (0 for a key not in `initial`).

    The state is None until the first step resolves it from `initial`, because `init()` does not
    know which key's partition it starts.
    """
    start = dict(initial)
    for key, value in start.items():
        if not isinstance(value, int):
            raise TypeError(f"counter_model: initial value for {key!r} must be an int, got {value!r}")

    def step(state: int | None, input: Any, output: Any) -> tuple[bool, int | None]:
        kind, key = input[0], input[1]
        current = start.get(key, 0) if state is None else state
        if kind == "read":
            return (output is UNKNOWN_OUTPUT or output == current), current
        if kind == "add":
            return True, current + input[2]
        if kind == "set":
            return True, input[2]
        raise ValueError(f"counter model: unknown operation {input!r}")

    def describe(input: Any, output: Any) -> str:
        if input[0] == "read":
            return f"read({input[1]!r}) -> {output!r}"
        return f"{input[0]}({input[1]!r}, {input[2]!r})"

    return Model(init=lambda: None, step=step, partition=partition_by_input_field(1), describe_operation=describe)


# The chaos tool's name for the same thing: stock per book.
stock_model = counter_model
