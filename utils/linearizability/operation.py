"""One completed (or possibly-completed) client operation in a concurrent history.

The checker's input unit: what a client asked, what it saw, and the real-time window it was open.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any


class _Unknown(enum.Enum):
    """Singleton type for the output of an operation whose outcome was never observed."""

    UNKNOWN = "unknown"

    def __repr__(self) -> str:
        return "UNKNOWN_OUTPUT"


# Passed to Model.step as the output of every operation with return_time = inf: the model must
# accept it (any outcome is possible) and apply the operation's effect.
UNKNOWN_OUTPUT = _Unknown.UNKNOWN


@dataclass(frozen=True, slots=True)
class Operation:
    """A client operation: `input` called at `call`, answered `output` at `return_time`.

    return_time = math.inf means the outcome is unknown (a timeout, a crash): the operation may
    have taken effect at any point after `call`, or never. Its `output` is ignored.
    """

    client_id: int
    input: Any
    call: float
    output: Any
    return_time: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.call):
            raise ValueError(f"operation call time must be finite, got {self.call!r}")
        if math.isnan(self.return_time) or self.return_time < self.call:
            raise ValueError(
                f"operation returns before it is called: call={self.call!r} return_time={self.return_time!r}"
            )

    @property
    def is_outcome_unknown(self) -> bool:
        return self.return_time == math.inf
