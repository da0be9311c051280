"""The checker's verdict, and for an illegal history the evidence a human needs to see why.

Data only: the search in checker.py fills it in.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from utils.linearizability.operation import Operation


class CheckResult(enum.Enum):
    OK = "ok"
    ILLEGAL = "illegal"
    UNKNOWN = "unknown"  # the search ran out of its time budget before deciding


@dataclass(frozen=True)
class CheckReport:
    """A verdict plus, for ILLEGAL, the failing partition's longest linearizable prefix.

    `longest_prefix` is the longest sequence of operations the search could linearize (in that
    order) in the failing partition; `state_after_prefix` the model state it leaves; `blocked` the
    earliest-returning operation outside it (it could not be placed, whatever came before it);
    `unplaced` every operation outside the prefix that was open before `blocked` returned.
    """

    result: CheckResult
    partitions_total: int = 0
    partitions_decided: int = 0
    failing_partition: int | None = None
    longest_prefix: tuple[Operation, ...] = ()
    state_after_prefix: Any = None
    blocked: Operation | None = None
    unplaced: tuple[Operation, ...] = ()
    message: str = ""
