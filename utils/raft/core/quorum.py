"""Majority arithmetic for a static voter set: quorum size, committed index and vote outcome.

Raft commits an index once a majority holds it and elects a candidate once a majority grants.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping

from utils.raft.core.types import NodeId


class VoteResult(enum.Enum):
    PENDING = "pending"
    WON = "won"
    LOST = "lost"


def quorum_size(voters_count: int) -> int:
    assert voters_count >= 1, voters_count
    return voters_count // 2 + 1


def committed_index(match_indexes: Iterable[int], voters_count: int) -> int:
    """The largest index held by a majority: the quorum-th largest match index."""
    matches = sorted(match_indexes, reverse=True)
    assert len(matches) == voters_count, (matches, voters_count)
    return matches[quorum_size(voters_count) - 1]


def vote_result(votes: Mapping[NodeId, bool], voters_count: int) -> VoteResult:
    granted = sum(1 for granted in votes.values() if granted)
    rejected = len(votes) - granted
    quorum = quorum_size(voters_count)
    if granted >= quorum:
        return VoteResult.WON
    if voters_count - rejected < quorum:
        return VoteResult.LOST
    return VoteResult.PENDING
