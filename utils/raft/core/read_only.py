"""Pending ReadIndex requests on the leader (etcd's read-only "safe" mode).

A read recorded at commit index i is released once a quorum has answered a heartbeat round that
started after it; acknowledging a later request releases every earlier one too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from utils.raft.core.types import NodeId


@dataclass(slots=True)
class ReadRequest:
    index: int  # the leader's commit index when the read arrived
    context: bytes
    acks: set[NodeId] = field(default_factory=set)


class ReadOnlyQueue:
    __slots__ = ("_pending", "_order")

    def __init__(self) -> None:
        self._pending: dict[bytes, ReadRequest] = {}
        self._order: list[bytes] = []

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, context: bytes) -> bool:
        return context in self._pending

    def add_request(self, index: int, context: bytes, self_id: NodeId) -> None:
        assert context not in self._pending, context
        self._pending[context] = ReadRequest(index=index, context=context, acks={self_id})
        self._order.append(context)

    def last_pending_context(self) -> bytes | None:
        return self._order[-1] if self._order else None

    def receive_ack(self, sender: NodeId, context: bytes) -> int:
        """Records that `sender` answered the heartbeat carrying `context`; the ack count (0 if unknown)."""
        request = self._pending.get(context)
        if request is None:
            return 0
        request.acks.add(sender)
        return len(request.acks)

    def advance(self, context: bytes) -> list[ReadRequest]:
        """Releases the request for `context` and every request queued before it."""
        if context not in self._pending:
            return []
        position = self._order.index(context) + 1
        released = [self._pending.pop(c) for c in self._order[:position]]
        del self._order[:position]
        return released

    def drain(self) -> list[bytes]:
        contexts = list(self._order)
        self._pending.clear()
        self._order.clear()
        return contexts
