"""Structural validation of peer messages before the protocol looks at them.

A malformed message (wrong types, unknown sender, entries out of sequence, terms from the future)
is dropped and counted by the caller; nothing a peer sends may trip a core assertion.
"""

from __future__ import annotations

from utils.raft.core.types import Entry, EntryKind, Message, MessageType, NodeId, Snapshot


def malformed_reason(message: object, self_id: NodeId, peers: frozenset[NodeId]) -> str | None:
    """Why `message` must be dropped unread, or None when it is well-formed."""
    if not isinstance(message, Message):
        return "not a Message"
    m = message
    if type(m.type) is not MessageType:
        return "unknown message type"
    if m.recipient != self_id:
        return "addressed to another node"
    if type(m.sender) is not str or m.sender not in peers or m.sender == self_id:
        return "unknown sender"
    # Spelled out rather than looped over names: this runs for every message.
    if not (
        type(m.term) is int
        and type(m.log_term) is int
        and type(m.index) is int
        and type(m.commit) is int
        and type(m.reject_hint) is int
        and type(m.reject_term) is int
    ):
        return "integer field of wrong type"
    if m.term < 1:
        return "term below 1"
    if m.log_term < 0 or m.index < 0 or m.commit < 0 or m.reject_hint < 0 or m.reject_term < 0:
        return "negative index or term"
    if type(m.reject) is not bool or type(m.context) is not bytes:
        return "bad reject/context"
    if type(m.entries) is not tuple:
        return "entries not a tuple"
    if m.type is MessageType.APPEND:
        return _append_reason(m)
    if m.entries:
        return "entries on a non-APPEND message"
    if m.type is MessageType.SNAPSHOT:
        return _snapshot_reason(m.snapshot, m.term)
    if m.type in (MessageType.VOTE, MessageType.PRE_VOTE) and m.log_term > m.term:
        return "candidate's last log term above its term"
    return None


def _append_reason(m: Message) -> str | None:
    if m.log_term > m.term:
        return "previous log term above message term"
    expected_index = m.index + 1
    previous_term = m.log_term
    for entry in m.entries:
        if not isinstance(entry, Entry) or not isinstance(entry.kind, EntryKind):
            return "entry of wrong type"
        if type(entry.index) is not int or type(entry.term) is not int or type(entry.data) is not bytes:
            return "entry field of wrong type"
        if entry.index != expected_index:
            return "entries not contiguous after the previous index"
        if entry.term < previous_term or entry.term > m.term or entry.term < 1:
            return "entry terms out of order"
        expected_index += 1
        previous_term = entry.term
    return None


def _snapshot_reason(snapshot: object, term: int) -> str | None:
    if not isinstance(snapshot, Snapshot):
        return "SNAPSHOT without a snapshot"
    if type(snapshot.index) is not int or type(snapshot.term) is not int or snapshot.index < 1:
        return "bad snapshot index"
    if snapshot.term < 1 or snapshot.term > term or not isinstance(snapshot.data, bytes):
        return "bad snapshot term or data"
    return None
