"""Reply matching: which waiting peer RPC a response from the core answers.

A stepped request may carry a reply slot, filled by the core's response once its Ready is persisted.
"""

from __future__ import annotations

from concurrent.futures import Future

from utils.raft.core import Message, MessageType

# Which requests a response answers. A SNAPSHOT may be acknowledged with an APPEND_RESPONSE (etcd does).
ANSWERS: dict[MessageType, frozenset[MessageType]] = {
    MessageType.PRE_VOTE_RESPONSE: frozenset({MessageType.PRE_VOTE}),
    MessageType.VOTE_RESPONSE: frozenset({MessageType.VOTE}),
    MessageType.APPEND_RESPONSE: frozenset({MessageType.APPEND, MessageType.SNAPSHOT}),
    MessageType.SNAPSHOT_RESPONSE: frozenset({MessageType.SNAPSHOT}),
}


class ReplySlots:
    """The RPCs stepped since the last Ready, each waiting for the core's response to its sender."""

    __slots__ = ("_waiting",)

    def __init__(self) -> None:
        self._waiting: list[tuple[Message, Future[Message | None]]] = []

    def add(self, request: Message, reply: Future[Message | None]) -> None:
        self._waiting.append((request, reply))

    def answer(self, response: Message) -> bool:
        """Hands `response` to the oldest RPC it answers; False when none waits (its RPC already returned)."""
        for position, (request, reply) in enumerate(self._waiting):
            if request.sender == response.recipient and request.type in ANSWERS[response.type] and not reply.done():
                reply.set_result(response)
                del self._waiting[position]
                return True
        return False

    def settle(self) -> None:
        """Requests stepped before this Ready got their response in it, or have none: they get None."""
        for _, reply in self._waiting:
            if not reply.done():
                reply.set_result(None)
        self._waiting.clear()
