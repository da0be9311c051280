"""The outgoing half of the transport: one ordered, bounded send queue and one sender thread per peer.

One RPC is in flight per peer at a time, so a follower sees the leader's messages in the order the
core produced them. Batching, like Nagle's algorithm: contiguous APPENDs waiting in the queue merge into
one RPC, and an empty APPEND (a heartbeat or probe, no read context) waits up to
`empty_append_hold_ms` for a later APPEND of the same term, which supersedes it: that one carries a
commit index at least as high and is as good a sign of life. A full queue drops its oldest heartbeat
(else its oldest message) instead of blocking the driver. Raft tolerates lost messages; the core
resends what matters.
"""

from __future__ import annotations

import collections
import itertools
import logging
import threading
import time
from collections.abc import Callable

import grpc

from utils.pb.raft import raft_pb2 as pb
from utils.pb.raft import raft_pb2_grpc
from utils.raft import wire
from utils.raft.core import Message, MessageType
from utils.raft.drops import DropCounter, DropReason
from utils.raft.options import RaftOptions
from utils.rpc.trust import installed_trust
from utils.tls import FleetTls

log = logging.getLogger(__name__)


def channel_options(options: RaftOptions) -> list[tuple[str, int]]:
    # gRPC's default reconnect backoff grows to 120 s: a restarted peer would stay unreachable for
    # minutes. Cap it near the election timeout instead.
    return [
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.min_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", 1000),
        ("grpc.max_send_message_length", options.message_bytes_max),
        ("grpc.max_receive_message_length", options.message_bytes_max),
    ]


def is_heartbeat(message: Message) -> bool:
    return message.type is MessageType.APPEND and not message.entries


def is_supersedable(message: Message) -> bool:
    """An APPEND with nothing but liveness and a commit index in it (no entries, no read context)."""
    return message.type is MessageType.APPEND and not message.entries and not message.context


def entries_bytes(message: Message) -> int:
    return sum(len(entry.data) + ENTRY_OVERHEAD_BYTES for entry in message.entries)


ENTRY_OVERHEAD_BYTES = 24  # term, index and kind on the wire, roughly


def merge_appends(first: Message, second: Message, entries_max: int, bytes_max: int) -> Message | None:
    """One APPEND equal to sending `first` then `second`, when `second` continues `first` exactly."""
    if (
        first.type is not MessageType.APPEND
        or second.type is not MessageType.APPEND
        or not first.entries
        or not second.entries
        or first.term != second.term
        or first.context
        or second.context
        or len(first.entries) + len(second.entries) > entries_max
        or entries_bytes(first) + entries_bytes(second) > bytes_max
    ):
        return None
    last = first.entries[-1]
    if second.index != last.index or second.log_term != last.term:
        return None
    return Message(
        type=MessageType.APPEND,
        sender=first.sender,
        recipient=first.recipient,
        term=first.term,
        log_term=first.log_term,
        index=first.index,
        entries=first.entries + second.entries,
        commit=max(first.commit, second.commit),
    )


class PeerSender:
    """Sends one peer's messages in order and hands each response message to `deliver`."""

    def __init__(
        self,
        peer_id: str,
        address: str,
        options: RaftOptions,
        deliver: Callable[[Message], None],
        drops: DropCounter | None = None,
        tls: FleetTls | None = None,  # the sending node's own identity; None = the process's
    ) -> None:
        self.peer_id = peer_id
        self.address = address
        self._options = options
        self._deliver = deliver
        self._drops = drops if drops is not None else DropCounter()
        self._queue: collections.deque[tuple[float, Message]] = collections.deque()  # (enqueued at, message)
        self._hold_s = options.empty_append_hold_ms / 1000.0
        self._cond = threading.Condition()
        self._stopped = False
        own = tls or installed_trust().tls
        self._channel = own.secure_channel(address, peer_id, list(channel_options(options)))
        self._stub = raft_pb2_grpc.RaftStub(self._channel)
        self._thread = threading.Thread(target=self._run, name=f"raft-send-{peer_id}", daemon=True)
        self._reachable = True
        self.sent_rpcs = 0
        self.failed_rpcs = 0
        self.dropped_messages = 0
        self.superseded_messages = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            for _, message in self._queue:
                self._drops.drop(DropReason.SENDER_STOPPED, message)
            self._queue.clear()
            self._cond.notify()
        self._channel.close()  # cancels an RPC in flight, so a paused peer does not hold up the stop
        if self._thread.ident is not None:
            self._thread.join(timeout=self._options.rpc_timeout_s)

    def send(self, message: Message) -> None:
        """Queues without blocking; when full, sheds the oldest heartbeat, else the oldest message."""
        assert message.recipient == self.peer_id and message.type in wire.REQUEST_TYPES
        with self._cond:
            if self._stopped:
                self._drops.drop(DropReason.SENDER_STOPPED, message)
                return
            if len(self._queue) >= self._options.send_queue_max:
                self._shed_one()
            self._queue.append((time.monotonic(), message))
            self._cond.notify()

    def _shed_one(self) -> None:
        for position, (_, queued) in enumerate(self._queue):
            if is_heartbeat(queued):
                del self._queue[position]
                break
        else:
            _, queued = self._queue.popleft()
        self.dropped_messages += 1
        self._drops.drop(DropReason.QUEUE_FULL, queued)

    def next_message(self) -> Message | None:
        """The next RPC to send, after superseding and merging; blocks, and is None once stopped."""
        with self._cond:
            while True:
                while not self._queue and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return None
                queued_at, message = self._queue[0]
                if is_supersedable(message):
                    if any(
                        later.type is MessageType.APPEND and later.term == message.term
                        for _, later in itertools.islice(self._queue, 1, None)
                    ):
                        self._queue.popleft()
                        self.superseded_messages += 1
                        self._drops.drop(DropReason.SUPERSEDED, message)
                        continue
                    hold_s = queued_at + self._hold_s - time.monotonic()
                    if len(self._queue) == 1 and hold_s > 0:
                        self._cond.wait(hold_s)  # a later message may supersede it meanwhile
                        continue
                self._queue.popleft()
                while self._queue:
                    merged = merge_appends(
                        message,
                        self._queue[0][1],
                        self._options.coalesced_entries_max,
                        self._options.coalesced_bytes_max,
                    )
                    if merged is None:
                        break
                    self._queue.popleft()
                    message = merged
                return message

    def _run(self) -> None:
        while (message := self.next_message()) is not None:
            try:
                reply = self._call(message)
            except ValueError:
                if self._stopped:
                    return  # the channel closed under a call that had just started
                raise
            if reply is not None:
                response = wire.reply_from_wire(reply)
                if response is not None:
                    self._deliver(response)
                elif reply.answered:  # an answer of a type this node does not know
                    self._drops.drop(DropReason.MALFORMED, message)

    def _call(self, m: Message) -> pb.PeerReply | None:
        timeout_s = self._options.rpc_timeout_s
        reply: pb.PeerReply  # the stubs return Any
        try:
            if m.type in (MessageType.PRE_VOTE, MessageType.VOTE):
                reply = self._stub.RequestVote(wire.vote_request_to_wire(m), timeout=timeout_s)
            elif m.type is MessageType.APPEND:
                reply = self._stub.AppendEntries(wire.append_request_to_wire(m), timeout=timeout_s)
            elif m.type is MessageType.SNAPSHOT:
                reply = self._stub.InstallSnapshot(
                    wire.snapshot_request_to_wire(m), timeout=self._options.snapshot_rpc_timeout_s
                )
            else:
                assert m.type is MessageType.TIMEOUT_NOW
                reply = self._stub.TimeoutNow(wire.timeout_now_to_wire(m), timeout=timeout_s)
        except grpc.RpcError as error:
            self.failed_rpcs += 1
            if self._reachable:  # log the transition, not every failed heartbeat
                self._reachable = False
                log.info(
                    "raft peer unreachable",
                    extra={
                        "peer": self.peer_id,
                        "address": self.address,
                        "code": str(error.code()),
                        "rpc": m.type.name,
                    },
                )
            return None
        self.sent_rpcs += 1
        if not self._reachable:
            self._reachable = True
            log.info("raft peer reachable again", extra={"peer": self.peer_id, "address": self.address})
        return reply
