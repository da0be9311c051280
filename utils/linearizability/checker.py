"""Decides whether a concurrent history is linearizable with respect to a sequential model.

Wing & Gong's search with Lowe's just-in-time linearization and memoised (linearized-set, state) pairs, as in porcupine.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from utils.linearizability.models import Model
from utils.linearizability.operation import UNKNOWN_OUTPUT, Operation
from utils.linearizability.report import CheckReport, CheckResult

# How many search steps run between two looks at the clock (the clock is slower than a step).
DEADLINE_CHECK_STEPS = 2048

_NONE = -1  # end of the entry list


@dataclass(frozen=True, slots=True)
class _SearchOutcome:
    result: CheckResult
    best_order: tuple[int, ...]  # operation indices of the longest linearization found, in order


@dataclass(frozen=True, slots=True)
class _EntryList:
    """The call and return events of a history as a doubly linked list over array slots.

    Slot 0 is the head sentinel; slot 1 + k holds the k-th event in time order. The lists are
    mutated in place by the search (lift/unlift); the dataclass only groups them.
    """

    next_entry: list[int]
    prev_entry: list[int]
    operation_of: list[int]
    match: list[int]  # for a call slot: its return slot; _NONE for a return slot
    unknown_return: list[bool]  # a return slot of an operation with return_time = inf

    @staticmethod
    def build(operations: Sequence[Operation]) -> _EntryList:
        count = len(operations)
        # Calls before returns at equal times: touching intervals count as concurrent.
        events = sorted(
            [(operation.call, 0, index) for index, operation in enumerate(operations)]
            + [(operation.return_time, 1, index) for index, operation in enumerate(operations)]
        )
        size = 2 * count + 1
        next_entry = list(range(1, size + 1))
        next_entry[-1] = _NONE
        entries = _EntryList(
            next_entry=next_entry,
            prev_entry=list(range(-1, size - 1)),
            operation_of=[0] * size,
            match=[_NONE] * size,
            unknown_return=[False] * size,
        )
        call_entry_of = [0] * count
        for position, (_time, kind, index) in enumerate(events, start=1):
            entries.operation_of[position] = index
            if kind == 0:
                call_entry_of[index] = position
            else:
                entries.match[call_entry_of[index]] = position
                entries.unknown_return[position] = operations[index].is_outcome_unknown
        return entries


def _search(model: Model[Any], operations: Sequence[Operation], deadline: float) -> _SearchOutcome:
    """Lowe's just-in-time linearization over a doubly linked list of call/return entries.

    Entries are sorted by time (calls before returns at equal times, so touching intervals count
    as concurrent). Scanning from the head, every entry before the cursor is a call; a call may be
    linearized now (step the model, remove its call and return from the list, rescan); reaching a
    return means that operation cannot wait any longer, so undo the last choice and try the next
    call. An operation with return_time = inf has its return after every finite one: reaching it
    means every finite operation is placed, and the unknown ones left are taken to never have
    happened. Memoising (linearized bitset, state) cuts revisits (Lowe 2016 §4).
    """
    entries = _EntryList.build(operations)
    next_entry, prev_entry = entries.next_entry, entries.prev_entry
    operation_of, match, unknown_return = entries.operation_of, entries.match, entries.unknown_return
    inputs = [operation.input for operation in operations]
    outputs = [UNKNOWN_OUTPUT if operation.is_outcome_unknown else operation.output for operation in operations]
    step = model.step

    state = model.init()
    linearized = 0
    seen: set[tuple[int, Any]] = set()
    stack: list[tuple[int, Any, int]] = []  # (call entry, state before it, linearized before it)
    best_depth = 0
    best_order: tuple[int, ...] = ()
    steps_until_clock = DEADLINE_CHECK_STEPS
    entry = next_entry[0]
    while entry != _NONE:
        steps_until_clock -= 1
        if steps_until_clock == 0:
            steps_until_clock = DEADLINE_CHECK_STEPS
            if time.monotonic() > deadline:
                return _SearchOutcome(CheckResult.UNKNOWN, best_order)
        return_entry = match[entry]
        if return_entry != _NONE:  # a call: try to linearize its operation here
            index = operation_of[entry]
            legal, new_state = step(state, inputs[index], outputs[index])
            if legal:
                new_linearized = linearized | (1 << index)
                key = (new_linearized, new_state)
                try:
                    is_new = key not in seen
                except TypeError as error:
                    raise TypeError(f"model states must be hashable, got {new_state!r}") from error
                if is_new:
                    seen.add(key)
                    stack.append((entry, state, linearized))
                    state, linearized = new_state, new_linearized
                    # Lift the call and its return out of the list.
                    before, after = prev_entry[entry], next_entry[entry]
                    next_entry[before] = after
                    if after != _NONE:
                        prev_entry[after] = before
                    before, after = prev_entry[return_entry], next_entry[return_entry]
                    next_entry[before] = after
                    if after != _NONE:
                        prev_entry[after] = before
                    entry = next_entry[0]
                    continue
            entry = next_entry[entry]
            continue
        if unknown_return[entry]:
            return _SearchOutcome(CheckResult.OK, best_order)
        if not stack:
            return _SearchOutcome(CheckResult.ILLEGAL, best_order)
        # Snapshot the deepest linearization when leaving it, not on every push: an ILLEGAL search
        # backtracks out of every configuration, and an OK one never needs the snapshot.
        if len(stack) > best_depth:
            best_depth = len(stack)
            best_order = tuple(operation_of[item[0]] for item in stack)
        entry, state, linearized = stack.pop()
        # Unlift in the reverse order of the lift (dancing links).
        return_entry = match[entry]
        before, after = prev_entry[return_entry], next_entry[return_entry]
        next_entry[before] = return_entry
        if after != _NONE:
            prev_entry[after] = return_entry
        before, after = prev_entry[entry], next_entry[entry]
        next_entry[before] = entry
        if after != _NONE:
            prev_entry[after] = entry
        entry = next_entry[entry]
    return _SearchOutcome(CheckResult.OK, best_order)


def _partitions(model: Model[Any], history: Sequence[Operation]) -> list[list[Operation]]:
    for operation in history:
        if not isinstance(operation, Operation):
            raise TypeError(f"history must hold Operation values, got {operation!r}")
    parts = [list(history)] if model.partition is None else model.partition(history)
    # A canonical order inside a partition makes the search (and its report) independent of the
    # order the caller listed the operations in.
    canonical = [sorted(part, key=_canonical_key) for part in parts if part]
    # Smallest first: a violation in a small partition is found before a big one eats the budget.
    return sorted(canonical, key=lambda part: (len(part), _canonical_key(part[0])))


def _canonical_key(operation: Operation) -> tuple[float, float, int]:
    return (operation.call, operation.return_time, operation.client_id)


def _deadline(timeout_s: float | None) -> float:
    if timeout_s is None:
        return math.inf
    if timeout_s < 0:
        raise ValueError(f"timeout_s must be >= 0, got {timeout_s!r}")
    return time.monotonic() + timeout_s


def check_operations(model: Model[Any], history: Sequence[Operation], timeout_s: float | None = None) -> CheckResult:
    """OK if the history is linearizable, ILLEGAL if not, UNKNOWN if `timeout_s` ran out first."""
    return check_operations_verbose(model, history, timeout_s).result


def check_operations_verbose(
    model: Model[Any], history: Sequence[Operation], timeout_s: float | None = None
) -> CheckReport:
    """Like check_operations, with the evidence for an ILLEGAL verdict (see CheckReport).

    ILLEGAL in any partition makes the history ILLEGAL, even if another partition timed out.
    """
    deadline = _deadline(timeout_s)
    parts = _partitions(model, history)
    decided = 0
    timed_out = False
    for part_index, part in enumerate(parts):
        outcome = _search(model, part, deadline)
        if outcome.result is CheckResult.UNKNOWN:
            timed_out = True
            continue
        decided += 1
        if outcome.result is CheckResult.ILLEGAL:
            return _illegal_report(model, part, part_index, len(parts), decided, outcome.best_order)
    result = CheckResult.UNKNOWN if timed_out else CheckResult.OK
    return CheckReport(result=result, partitions_total=len(parts), partitions_decided=decided)


def _describe(model: Model[Any], operation: Operation) -> str:
    output = UNKNOWN_OUTPUT if operation.is_outcome_unknown else operation.output
    text = (
        model.describe_operation(operation.input, output)
        if model.describe_operation is not None
        else f"{operation.input!r} -> {output!r}"
    )
    return f"client {operation.client_id} [{operation.call}, {operation.return_time}] {text}"


def _illegal_report(
    model: Model[Any],
    part: list[Operation],
    part_index: int,
    parts_total: int,
    decided: int,
    best_order: tuple[int, ...],
) -> CheckReport:
    prefix = tuple(part[index] for index in best_order)
    state = model.init()
    for operation in prefix:
        output = UNKNOWN_OUTPUT if operation.is_outcome_unknown else operation.output
        legal, state = model.step(state, operation.input, output)
        assert legal, "the search's best linearization must replay legally"
    placed = set(best_order)
    rest = [operation for index, operation in enumerate(part) if index not in placed]
    finite_rest = [operation for operation in rest if not operation.is_outcome_unknown]
    assert finite_rest, "an illegal partition leaves some finite operation unplaced"
    blocked = min(finite_rest, key=lambda operation: (operation.return_time, operation.call))
    unplaced = tuple(operation for operation in rest if operation.call <= blocked.return_time)
    lines = [
        f"not linearizable: partition {part_index + 1} of {parts_total} "
        f"({len(part)} operations); longest linearizable prefix has {len(prefix)}:",
        *(f"  {_describe(model, operation)}" for operation in prefix),
        f"state after it: {state!r}",
        f"cannot place before it returns: {_describe(model, blocked)}",
        "operations open by then and not placed:",
        *(f"  {_describe(model, operation)}" for operation in unplaced),
    ]
    return CheckReport(
        result=CheckResult.ILLEGAL,
        partitions_total=parts_total,
        partitions_decided=decided,
        failing_partition=part_index,
        longest_prefix=prefix,
        state_after_prefix=state,
        blocked=blocked,
        unplaced=unplaced,
        message="\n".join(lines),
    )
