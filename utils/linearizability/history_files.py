"""Parsers for the two reference history formats: Jepsen etcd logs and EDN-like KV histories.

Time is the event's line index, so real-time order is the file's order.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from utils.linearizability.operation import UNKNOWN_OUTPUT, Operation

_JEPSEN_MARKER = "jepsen.util - "


@dataclass(frozen=True, slots=True)
class _Pending:
    input: Any
    call: float


def _parse_etcd_value(function: str, text: str) -> Any:
    if function == "cas":
        match = re.fullmatch(r"\[(-?\d+) (-?\d+)\]", text)
        if match is None:
            raise ValueError(f"bad cas argument {text!r}")
        return (int(match.group(1)), int(match.group(2)))
    return None if text == "nil" else int(text)


def parse_jepsen_etcd_log(path: str | Path) -> list[Operation]:
    """Operations of a Jepsen etcd register log, as inputs/outputs for `register_model`.

    `:ok` read -> the value read; `:ok`/`:fail` cas -> True/False; write -> None; a `:fail` read
    or write is dropped; `:info` (timed out) and an invoke never completed -> return_time inf.
    Sorted by call time.
    """
    pending: dict[int, _Pending] = {}
    operations: list[Operation] = []
    lines = Path(path).read_text().splitlines()
    for time_index, line in enumerate(lines):
        marker_at = line.find(_JEPSEN_MARKER)
        if marker_at < 0:
            continue
        fields = line[marker_at + len(_JEPSEN_MARKER) :].split(None, 3)
        if len(fields) != 4:
            raise ValueError(f"{path}:{time_index + 1}: expected PROCESS TYPE F VALUE, got {line!r}")
        process, kind, function, value = int(fields[0]), fields[1], fields[2].lstrip(":"), fields[3].strip()
        if kind == ":invoke":
            if process in pending:
                raise ValueError(f"{path}:{time_index + 1}: process {process} invoked twice")
            argument = None if function == "read" else _parse_etcd_value(function, value)
            pending[process] = _Pending((function, argument), float(time_index))
            continue
        started = pending.pop(process, None)
        if started is None:
            raise ValueError(f"{path}:{time_index + 1}: completion without invoke for {process}")
        if kind == ":info":
            output: Any = UNKNOWN_OUTPUT
            return_time = math.inf
        elif function == "cas" and kind in (":ok", ":fail"):
            # porcupine's reading: a :fail cas is a cas that found another value (output False).
            output, return_time = kind == ":ok", float(time_index)
        elif kind == ":ok":
            output = _parse_etcd_value("read", value) if function == "read" else None
            return_time = float(time_index)
        elif kind == ":fail":
            continue  # a failed read or write did not happen: it constrains nothing
        else:
            raise ValueError(f"{path}:{time_index + 1}: unknown type {kind!r}")
        operations.append(Operation(process, started.input, started.call, output, return_time))
    for process, started in pending.items():
        operations.append(Operation(process, started.input, started.call, UNKNOWN_OUTPUT, math.inf))
    operations.sort(key=lambda operation: (operation.call, operation.client_id))
    return operations


_KV_LINE = re.compile(
    r"\{:process (?P<process>\d+), :type :(?P<type>\w+), :f :(?P<f>\w+), "
    r':key "(?P<key>[^"]*)", :value (?:nil|"(?P<value>[^"]*)")\}'
)


def parse_kv_history(path: str | Path) -> list[Operation]:
    """Operations of an EDN-like KV history, as inputs/outputs for `kv_model`.

    Inputs ("get"|"put"|"append", key, value) with value None for a get; a get's output is the
    string seen at `:ok`; `:info` or a missing completion -> return_time inf. Sorted by call time.
    """
    pending: dict[int, _Pending] = {}
    operations: list[Operation] = []
    lines = Path(path).read_text().splitlines()
    for time_index, line in enumerate(lines):
        if not line.strip():
            continue
        match = _KV_LINE.fullmatch(line.strip())
        if match is None:
            raise ValueError(f"{path}:{time_index + 1}: unrecognised line {line!r}")
        process, kind, function = int(match["process"]), match["type"], match["f"]
        if kind == "invoke":
            if process in pending:
                raise ValueError(f"{path}:{time_index + 1}: process {process} invoked twice")
            value = None if function == "get" else match["value"]
            pending[process] = _Pending((function, match["key"], value), float(time_index))
            continue
        started = pending.pop(process, None)
        if started is None:
            raise ValueError(f"{path}:{time_index + 1}: completion without invoke for {process}")
        if kind == "ok":
            output = match["value"] if function == "get" else None
            operations.append(Operation(process, started.input, started.call, output, float(time_index)))
        elif kind == "info":
            operations.append(Operation(process, started.input, started.call, UNKNOWN_OUTPUT, math.inf))
        elif kind != "fail":  # a :fail did not happen
            raise ValueError(f"{path}:{time_index + 1}: unknown type {kind!r}")
    for process, started in pending.items():
        operations.append(Operation(process, started.input, started.call, UNKNOWN_OUTPUT, math.inf))
    operations.sort(key=lambda operation: (operation.call, operation.client_id))
    return operations
