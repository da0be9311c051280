"""What a service sees when Raft cannot do what it asked: not the leader, or not available now.

NotLeader (raised by the pure core too) carries where to go instead; RaftUnavailable may leave a write's outcome
unknown.
"""

from __future__ import annotations


class RaftError(Exception):
    """Base of the runtime's errors."""


class NotLeader(RaftError):
    """This replica is not the leader; the caller should retry at `leader_address` (None: unknown yet)."""

    def __init__(
        self, leader_id: str | None, leader_address: str | None = None, *, reason: str = "not the leader"
    ) -> None:
        # The core knows only the leader's id; the runtime re-raises it with the address.
        super().__init__(f"{reason}; leader is {leader_id or 'unknown'} at {leader_address or 'unknown'}")
        self.reason = reason
        self.leader_id = leader_id
        self.leader_address = leader_address


class RaftUnavailable(RaftError):
    """Timed out, lost leadership, overloaded or stopped.

    `outcome_unknown`: a write may or may not commit (map to DEADLINE_EXCEEDED, whose gRPC meaning is
    exactly that); False when it certainly was not appended (map to UNAVAILABLE: safe to retry).
    """

    def __init__(self, reason: str, *, overloaded: bool = False, outcome_unknown: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.overloaded = overloaded  # the inbox was full: map to RESOURCE_EXHAUSTED rather than UNAVAILABLE
        self.outcome_unknown = outcome_unknown and not overloaded
