"""Conversion between the core's Messages and the Raft service's protobuf requests and replies.

Each request type carries exactly the fields its message uses; a field the core sets but the wire
cannot carry is a bug and fails an assertion rather than vanish silently.
"""

from __future__ import annotations

from utils.pb.raft import raft_pb2 as pb
from utils.raft.core import Entry, EntryKind, Message, MessageType, Snapshot

REQUEST_TYPES = frozenset(
    {MessageType.PRE_VOTE, MessageType.VOTE, MessageType.APPEND, MessageType.SNAPSHOT, MessageType.TIMEOUT_NOW}
)
RESPONSE_TYPES = frozenset(
    {
        MessageType.PRE_VOTE_RESPONSE,
        MessageType.VOTE_RESPONSE,
        MessageType.APPEND_RESPONSE,
        MessageType.SNAPSHOT_RESPONSE,
    }
)
_RESPONSE_TO_WIRE = {
    MessageType.PRE_VOTE_RESPONSE: pb.RESPONSE_TYPE_PRE_VOTE,
    MessageType.VOTE_RESPONSE: pb.RESPONSE_TYPE_VOTE,
    MessageType.APPEND_RESPONSE: pb.RESPONSE_TYPE_APPEND,
    MessageType.SNAPSHOT_RESPONSE: pb.RESPONSE_TYPE_SNAPSHOT,
}
_RESPONSE_FROM_WIRE = {wire: core for core, wire in _RESPONSE_TO_WIRE.items()}
_KIND_TO_WIRE = {EntryKind.NORMAL: pb.ENTRY_KIND_NORMAL, EntryKind.NOOP: pb.ENTRY_KIND_NOOP}
_KIND_FROM_WIRE = {wire: core for core, wire in _KIND_TO_WIRE.items()}


def _check_unused(message: Message, *fields: str) -> None:
    for name in fields:
        value = getattr(message, name)
        assert not value, f"{message.type.name} sets {name}={value!r}, which its RPC does not carry"


# ---- entries and snapshots ----------------------------------------------------------------------


def entry_to_wire(entry: Entry) -> pb.Entry:
    return pb.Entry(term=entry.term, index=entry.index, kind=_KIND_TO_WIRE[entry.kind], data=entry.data)


def entry_from_wire(entry: pb.Entry) -> Entry:
    return Entry(term=entry.term, index=entry.index, kind=_KIND_FROM_WIRE[entry.kind], data=entry.data)


def snapshot_to_wire(snapshot: Snapshot) -> pb.Snapshot:
    return pb.Snapshot(index=snapshot.index, term=snapshot.term, data=snapshot.data)


def snapshot_from_wire(snapshot: pb.Snapshot) -> Snapshot:
    return Snapshot(index=snapshot.index, term=snapshot.term, data=snapshot.data)


# ---- requests -----------------------------------------------------------------------------------


def vote_request_to_wire(m: Message) -> pb.VoteRequest:
    assert m.type in (MessageType.PRE_VOTE, MessageType.VOTE)
    _check_unused(m, "entries", "reject", "reject_hint", "reject_term", "snapshot")
    return pb.VoteRequest(
        candidate_id=m.sender,
        recipient_id=m.recipient,
        term=m.term,
        last_log_index=m.index,
        last_log_term=m.log_term,
        pre_vote=m.type is MessageType.PRE_VOTE,
        context=m.context,
        commit=m.commit,
    )


def vote_request_from_wire(r: pb.VoteRequest) -> Message:
    return Message(
        type=MessageType.PRE_VOTE if r.pre_vote else MessageType.VOTE,
        sender=r.candidate_id,
        recipient=r.recipient_id,
        term=r.term,
        log_term=r.last_log_term,
        index=r.last_log_index,
        commit=r.commit,
        context=r.context,
    )


def append_request_to_wire(m: Message) -> pb.AppendRequest:
    assert m.type is MessageType.APPEND
    _check_unused(m, "reject", "reject_hint", "reject_term", "snapshot")
    return pb.AppendRequest(
        leader_id=m.sender,
        recipient_id=m.recipient,
        term=m.term,
        prev_log_index=m.index,
        prev_log_term=m.log_term,
        entries=[entry_to_wire(e) for e in m.entries],
        leader_commit=m.commit,
        context=m.context,
    )


def append_request_from_wire(r: pb.AppendRequest) -> Message:
    return Message(
        type=MessageType.APPEND,
        sender=r.leader_id,
        recipient=r.recipient_id,
        term=r.term,
        log_term=r.prev_log_term,
        index=r.prev_log_index,
        entries=tuple(entry_from_wire(e) for e in r.entries),
        commit=r.leader_commit,
        context=r.context,
    )


def snapshot_request_to_wire(m: Message) -> pb.SnapshotRequest:
    assert m.type is MessageType.SNAPSHOT and m.snapshot is not None
    _check_unused(m, "entries", "reject", "reject_hint", "reject_term", "context")
    return pb.SnapshotRequest(
        leader_id=m.sender,
        recipient_id=m.recipient,
        term=m.term,
        snapshot=snapshot_to_wire(m.snapshot),
        leader_commit=m.commit,
        prev_log_index=m.index,
        prev_log_term=m.log_term,
    )


def snapshot_request_from_wire(r: pb.SnapshotRequest) -> Message:
    return Message(
        type=MessageType.SNAPSHOT,
        sender=r.leader_id,
        recipient=r.recipient_id,
        term=r.term,
        log_term=r.prev_log_term,
        index=r.prev_log_index,
        commit=r.leader_commit,
        snapshot=snapshot_from_wire(r.snapshot) if r.HasField("snapshot") else None,
    )


def timeout_now_to_wire(m: Message) -> pb.TimeoutNowRequest:
    assert m.type is MessageType.TIMEOUT_NOW
    _check_unused(m, "entries", "reject", "reject_hint", "reject_term", "snapshot", "context", "log_term", "index")
    return pb.TimeoutNowRequest(leader_id=m.sender, recipient_id=m.recipient, term=m.term, commit=m.commit)


def timeout_now_from_wire(r: pb.TimeoutNowRequest) -> Message:
    return Message(
        type=MessageType.TIMEOUT_NOW, sender=r.leader_id, recipient=r.recipient_id, term=r.term, commit=r.commit
    )


# ---- replies ------------------------------------------------------------------------------------

NO_REPLY = pb.PeerReply(answered=False)


def reply_to_wire(m: Message | None) -> pb.PeerReply:
    if m is None:
        return NO_REPLY
    assert m.type in RESPONSE_TYPES, f"{m.type.name} is not a response"
    _check_unused(m, "entries", "snapshot")
    return pb.PeerReply(
        answered=True,
        type=_RESPONSE_TO_WIRE[m.type],
        sender_id=m.sender,
        recipient_id=m.recipient,
        term=m.term,
        log_term=m.log_term,
        index=m.index,
        commit=m.commit,
        reject=m.reject,
        reject_hint=m.reject_hint,
        reject_term=m.reject_term,
        context=m.context,
    )


def reply_from_wire(r: pb.PeerReply) -> Message | None:
    """The response message carried by a reply; None when the peer had none or sent an unknown type."""
    if not r.answered or r.type not in _RESPONSE_FROM_WIRE:
        return None
    return Message(
        type=_RESPONSE_FROM_WIRE[r.type],
        sender=r.sender_id,
        recipient=r.recipient_id,
        term=r.term,
        log_term=r.log_term,
        index=r.index,
        commit=r.commit,
        reject=r.reject,
        reject_hint=r.reject_hint,
        reject_term=r.reject_term,
        context=r.context,
    )
