"""Cooperative termination of the books database: the primary asks the executor group about a transaction
PREPARED for too long, through the shared loop (utils/twopc/termination.py), and logs the answer through Raft.

How long a transaction has been PREPARED is this primary's own observation (the replicated state has no clock):
a new primary starts counting afresh, which only delays its first question by `after_s`.
"""

from __future__ import annotations

from typing import Any, Protocol

from books_database.core.commands import AbortTransaction, CommitTransaction, encode_command
from utils.raft.core import Role
from utils.raft.errors import NotLeader, RaftUnavailable
from utils.raft.status import RaftStatus
from utils.twopc.core.participant import Fence
from utils.twopc.decision_client import DecisionAnswer, DecisionUnavailable


class Replica(Protocol):
    def propose(self, command: bytes, timeout_s: float | None = None) -> Any: ...
    def read_local(self, fn: Any) -> tuple[int, Any]: ...
    def status(self) -> RaftStatus: ...


class BooksInDoubt:
    """The replica's PREPARED transactions as utils.twopc.termination sees them; only the primary has any."""

    def __init__(self, node: Replica, propose_timeout_s: float) -> None:
        self._node = node
        self._timeout_s = propose_timeout_s
        self._first_seen: dict[str, float] = {}  # tx → when this primary first saw it PREPARED (bounded by them)

    def in_doubt(self, now: float, after_s: float, limit: int) -> list[str]:
        status = self._node.status()
        if not (status.running and status.role is Role.LEADER):
            self._first_seen.clear()
            return []
        try:
            _, prepared = self._node.read_local(
                lambda store: store.query(lambda m: tuple(t.tx_id for t in m.in_doubt()))
            )
        except RaftUnavailable:
            return []
        self._first_seen = {tx: self._first_seen.get(tx, now) for tx in prepared}
        due = [tx for tx, at in self._first_seen.items() if now - at >= after_s]
        return sorted(due, key=lambda tx: self._first_seen[tx])[:limit]

    def _fence(self) -> Fence:
        _, fence = self._node.read_local(lambda store: store.query(lambda m: m.fence))
        assert isinstance(fence, Fence)
        return fence

    def incarnation(self) -> str:
        try:
            return self._fence().incarnation
        except RaftUnavailable:
            return ""

    def apply_decision(self, tx_id: str, answer: DecisionAnswer) -> str:
        fence = self._fence()
        term = max(fence.newest, answer.term)
        command = (
            CommitTransaction(tx_id, term, fence.incarnation)
            if answer.outcome == "COMMIT"
            else AbortTransaction(tx_id, term, fence.incarnation)
        )
        try:
            result = self._node.propose(encode_command(command), timeout_s=self._timeout_s)
        except (NotLeader, RaftUnavailable) as error:
            # Not applied here: the terminator asks again on its next scan (or the next primary does).
            raise DecisionUnavailable(f"could not log the decision of {tx_id}: {error}") from None
        return type(result).__name__
