"""The contract between the Raft runtime and the replicated application it drives.

The runtime applies committed commands in log order and snapshots the state to compact the log.
"""

from __future__ import annotations

from typing import Any, Protocol


class StateMachine(Protocol):
    def apply(self, index: int, command: bytes) -> Any:
        """Applies one committed command; deterministic. Its return value is the proposer's result."""
        ...

    def snapshot(self) -> bytes:
        """The whole state, serialised; restore(snapshot()) must give an equal state."""
        ...

    def restore(self, data: bytes) -> None:
        """Replaces the whole state with a snapshot's."""
        ...
