"""Peer messages the runtime drops, counted by reason and logged at debug: never silently.

Raft tolerates lost messages (the core resends what matters), but an operator must still see why.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections import Counter

from utils.raft.core import Message

log = logging.getLogger(__name__)


class DropReason(enum.Enum):
    INBOX_FULL = "inbox_full"  # the driver's inbox was full: a response from a peer is shed
    NOT_RUNNING = "not_running"  # the node stopped or failed while the message was on its way
    REPLY_EXPIRED = "reply_expired"  # the core's response came after its RPC had returned
    REPLY_TIMEOUT = "reply_timeout"  # an RPC handler stopped waiting for the core's response
    QUEUE_FULL = "queue_full"  # a peer's send queue was full: its oldest heartbeat (or message) goes
    SUPERSEDED = "superseded"  # an empty APPEND made redundant by a later APPEND of the same term
    SENDER_STOPPED = "sender_stopped"  # queued for a peer whose sender was already stopped
    UNKNOWN_PEER = "unknown_peer"  # a request from or for a node outside the configured group
    MALFORMED = "malformed"  # a request or reply that does not decode into a core message
    FORGED_SENDER = "forged_sender"  # the sender a request names is not the identity of its TLS certificate


class DropCounter:
    """Thread-safe counts of dropped peer messages by reason, for RaftStatus and metrics."""

    def __init__(self, node_id: str | None = None) -> None:
        self._node_id = node_id
        self._counts: Counter[DropReason] = Counter()
        self._lock = threading.Lock()  # incremented from the driver, sender and gRPC handler threads

    def drop(self, reason: DropReason, message: Message | None = None) -> None:
        with self._lock:
            self._counts[reason] += 1
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "raft message dropped",
                extra={
                    "node": self._node_id,
                    "reason": reason.value,
                    "type": message.type.value if message is not None else None,
                    "sender": message.sender if message is not None else None,
                    "recipient": message.recipient if message is not None else None,
                    "term": message.term if message is not None else None,
                },
            )

    def count(self, reason: DropReason) -> int:
        with self._lock:
            return self._counts[reason]

    def counts(self) -> dict[str, int]:
        """Every reason seen so far and its count, keyed by the reason's value."""
        with self._lock:
            return {reason.value: count for reason, count in sorted(self._counts.items(), key=lambda i: i[0].value)}
