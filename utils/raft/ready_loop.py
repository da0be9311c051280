"""The one way a Ready is carried out: persist, then send, then apply, then advance.

The driver, the simulator and the test cluster all call handle_ready(); only what each step does differs.
"""

from __future__ import annotations

import enum
from typing import Protocol

from utils.raft.core import RawNode, Ready


class Persisted(enum.Enum):
    CONTINUE = "continue"
    CRASHED = "crashed"  # the node died right after persisting: nothing is sent, applied or advanced


class ReadyHandler(Protocol):
    """What a runtime does with each part of a Ready; called only by handle_ready, in its order."""

    def persist_ready(self, ready: Ready) -> Persisted:
        """Makes the hard state, entries and snapshot durable (and takes note of a role change)."""
        ...

    def send_ready(self, ready: Ready) -> None:
        """Hands every message to the network (or to the RPC waiting for it)."""
        ...

    def apply_ready(self, ready: Ready) -> None:
        """Applies the snapshot and the committed entries, and answers the read states."""
        ...


def handle_ready(raw: RawNode, handler: ReadyHandler) -> Ready | None:
    """Carries out one Ready if there is one; returns it once advanced (None: none, or the node crashed)."""
    if not raw.has_ready():
        return None
    ready = raw.ready()
    # Durable BEFORE any message leaves (Raft §5.1, Figure 2: persistent state is updated on stable
    # storage before responding to RPCs): a vote, a term or an acknowledged entry survives a crash.
    if handler.persist_ready(ready) is Persisted.CRASHED:
        return None
    # Sent before applying: followers and voters need not wait for a slow state machine. Committed
    # entries are safe to apply in any order relative to sending, since they are already durable.
    handler.send_ready(ready)
    handler.apply_ready(ready)
    # Only now may the core treat the entries as stable and the committed ones as applied.
    raw.advance(ready)
    return ready
