"""A node's bounded history of the elections it saw: per term, who won, when this node learned it, and why the
winner campaigned (known to the winner only). Pure: the runtime hands in each status with its wall-clock time.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from utils.raft.core.types import CampaignReason, NodeId, Status


@dataclass(frozen=True, slots=True)
class ElectionRecord:
    term: int
    winner: NodeId
    at_s: float  # wall-clock seconds when this node first saw the winner lead the term
    why: CampaignReason | None  # the winner's own reason; None when this node is not the winner


class ElectionHistory:
    """The latest `bound` elections, oldest first; a term is recorded once, the first time its leader is known."""

    def __init__(self, bound: int) -> None:
        if bound < 1:
            raise ValueError("ElectionHistory bound must be >= 1")
        self._records: deque[ElectionRecord] = deque(maxlen=bound)
        self._view: tuple[ElectionRecord, ...] = ()
        self._last_term = 0

    def observe(self, status: Status, at_s: float) -> tuple[ElectionRecord, ...]:
        """Records the term's leader when it is new to this node; returns the history (one tuple until a change)."""
        if status.leader_id is not None and status.term > self._last_term:
            why = status.campaign if status.leader_id == status.node_id else None
            self._records.append(ElectionRecord(status.term, status.leader_id, at_s, why))
            self._last_term = status.term
            self._view = tuple(self._records)
        return self._view
