"""Wire conversion of every core message, and the per-peer send queue's batching and shedding rules."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from utils.raft import wire
from utils.raft.core import Entry, EntryKind, Message, MessageType, Snapshot
from utils.raft.drops import DropCounter
from utils.raft.options import RaftOptions
from utils.raft.peer import PeerSender, merge_appends

E = [
    Entry(term=2, index=i, kind=EntryKind.NOOP if i == 5 else EntryKind.NORMAL, data=f"c{i}".encode())
    for i in range(1, 20)
]


def append(first: int, last: int, *, commit: int = 0, term: int = 2, context: bytes = b"") -> Message:
    entries = tuple(E[first - 1 : last])
    return Message(
        MessageType.APPEND,
        "n1",
        "n2",
        term,
        log_term=2 if first > 1 else 0,
        index=first - 1,
        entries=entries,
        commit=commit,
        context=context,
    )


REQUESTS = [
    Message(MessageType.PRE_VOTE, "n1", "n2", 4, log_term=3, index=9),
    Message(MessageType.VOTE, "n1", "n2", 4, log_term=3, index=9, context=b"campaign-transfer"),
    append(3, 6, commit=4, context=b"read-7"),
    append(1, 0, commit=4),  # a heartbeat
    Message(MessageType.SNAPSHOT, "n1", "n2", 4, commit=30, snapshot=Snapshot(index=30, term=3, data=b"\x00state")),
    Message(MessageType.TIMEOUT_NOW, "n1", "n2", 4, commit=12),
]
RESPONSES = [
    Message(MessageType.PRE_VOTE_RESPONSE, "n2", "n1", 4, reject=True),
    Message(MessageType.VOTE_RESPONSE, "n2", "n1", 4),
    Message(MessageType.APPEND_RESPONSE, "n2", "n1", 4, index=6, commit=4, context=b"read-7"),
    Message(MessageType.APPEND_RESPONSE, "n2", "n1", 4, index=6, reject=True, reject_hint=3, reject_term=1),
    Message(MessageType.SNAPSHOT_RESPONSE, "n2", "n1", 4, index=30),
]
TO_WIRE: dict[MessageType, tuple[Callable[[Message], Any], Callable[[Any], Message]]] = {
    MessageType.PRE_VOTE: (wire.vote_request_to_wire, wire.vote_request_from_wire),
    MessageType.VOTE: (wire.vote_request_to_wire, wire.vote_request_from_wire),
    MessageType.APPEND: (wire.append_request_to_wire, wire.append_request_from_wire),
    MessageType.SNAPSHOT: (wire.snapshot_request_to_wire, wire.snapshot_request_from_wire),
    MessageType.TIMEOUT_NOW: (wire.timeout_now_to_wire, wire.timeout_now_from_wire),
}


@pytest.mark.parametrize("message", REQUESTS, ids=lambda m: m.type.name)
def test_every_request_survives_the_wire_unchanged(message: Message) -> None:
    to_wire, from_wire = TO_WIRE[message.type]
    encoded = to_wire(message)
    assert from_wire(type(encoded).FromString(encoded.SerializeToString())) == message


@pytest.mark.parametrize("message", RESPONSES, ids=lambda m: m.type.name)
def test_every_response_survives_the_wire_unchanged(message: Message) -> None:
    encoded = wire.reply_to_wire(message)
    assert wire.reply_from_wire(type(encoded).FromString(encoded.SerializeToString())) == message


def test_no_response_is_an_unanswered_reply() -> None:
    assert wire.reply_from_wire(wire.reply_to_wire(None)) is None


def test_a_field_the_wire_cannot_carry_fails_loudly() -> None:
    with pytest.raises(AssertionError, match="snapshot"):
        wire.append_request_to_wire(
            Message(MessageType.APPEND, "n1", "n2", 1, snapshot=Snapshot(index=1, term=1, data=b""))
        )


def test_contiguous_appends_merge_into_one() -> None:
    merged = merge_appends(append(3, 4, commit=2), append(5, 7, commit=4), 100, 1 << 20)
    assert merged == append(3, 7, commit=4)


@pytest.mark.parametrize(
    "second",
    [
        append(6, 7),  # a gap after 4
        append(5, 7, term=3),  # another term
        append(5, 7, context=b"read"),  # carries a read context that must be echoed on its own
        append(1, 0),  # a heartbeat
    ],
    ids=["gap", "term", "context", "heartbeat"],
)
def test_appends_that_do_not_continue_each_other_stay_apart(second: Message) -> None:
    assert merge_appends(append(3, 4), second, 100, 1 << 20) is None


def test_merging_respects_the_entry_and_byte_bounds() -> None:
    assert merge_appends(append(3, 4), append(5, 7), 4, 1 << 20) is None
    assert merge_appends(append(3, 4), append(5, 7), 5, 1 << 20) is not None
    assert merge_appends(append(3, 4), append(5, 7), 100, 50) is None


@pytest.fixture
def senders() -> Iterator[list[PeerSender]]:
    made: list[PeerSender] = []
    yield made
    for peer in made:
        peer.stop()


@pytest.fixture
def sender(senders: list[PeerSender]) -> Callable[..., PeerSender]:
    def make(**options: int) -> PeerSender:
        # Never started: next_message() is driven by hand; the channel connects lazily, so no peer is needed.
        peer = PeerSender("n2", "127.0.0.1:9", RaftOptions(**options), deliver=lambda m: None)  # type: ignore[arg-type]
        senders.append(peer)
        return peer

    return make


def test_the_queue_sends_in_order_and_batches_what_waited(sender: Callable[..., PeerSender]) -> None:
    peer = sender()
    for message in (append(1, 2), append(3, 4), append(5, 6), Message(MessageType.TIMEOUT_NOW, "n1", "n2", 2)):
        peer.send(message)
    assert peer.next_message() == append(1, 6)
    assert peer.next_message() == Message(MessageType.TIMEOUT_NOW, "n1", "n2", 2)


def test_an_empty_append_is_superseded_by_a_later_append(sender: Callable[..., PeerSender]) -> None:
    peer = sender(empty_append_hold_ms=0)
    peer.send(append(1, 0, commit=1))  # a commit notice ...
    peer.send(append(1, 2, commit=2))  # ... made redundant by the next APPEND
    assert peer.next_message() == append(1, 2, commit=2)
    assert peer.superseded_messages == 1
    peer.send(append(1, 0, commit=1, context=b"read-1"))  # a read round is never skipped
    peer.send(append(3, 4, commit=2))
    read_round = peer.next_message()
    assert read_round is not None and read_round.context == b"read-1"


def test_a_full_queue_sheds_its_oldest_heartbeat_first(sender: Callable[..., PeerSender]) -> None:
    peer = sender(send_queue_max=3, empty_append_hold_ms=0)
    heartbeat = Message(MessageType.APPEND, "n1", "n2", 2, commit=1, context=b"r1")
    for message in (append(1, 2), heartbeat, append(3, 4), append(5, 6)):
        peer.send(message)
    assert peer.dropped_messages == 1
    assert peer.next_message() == append(1, 6)  # the heartbeat between them went; the rest merged


def test_every_message_the_queue_drops_is_counted_by_its_reason() -> None:
    drops = DropCounter("n1")
    options = RaftOptions(send_queue_max=2, empty_append_hold_ms=0)
    peer = PeerSender("n2", "127.0.0.1:9", options, deliver=lambda m: None, drops=drops)
    peer.send(append(1, 0, commit=1))
    peer.send(append(1, 2, commit=2))
    assert peer.next_message() == append(1, 2, commit=2)  # the commit notice was superseded
    for message in (append(3, 4), append(5, 6), append(7, 8)):
        peer.send(message)  # the third finds the queue full: the oldest goes
    peer.stop()  # what is still queued goes with the sender ...
    peer.send(append(9, 9))  # ... and so does what comes after
    assert drops.counts() == {"queue_full": 1, "sender_stopped": 3, "superseded": 1}
