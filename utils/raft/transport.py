"""The incoming half of the transport: the Raft gRPC servicer, mapping each RPC onto the core's messages.

A request becomes one core Message stepped into the driver; the handler waits (bounded) for the core's
response to that sender, which the driver hands back only after persisting what it depends on. No
response (a stale request, or the wait ran out) is an empty reply, which Raft treats as a lost message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

import grpc

from utils.pb.raft import raft_pb2 as pb
from utils.pb.raft import raft_pb2_grpc
from utils.raft import wire
from utils.raft.core import Message
from utils.raft.drops import DropCounter, DropReason
from utils.raft.errors import RaftUnavailable
from utils.raft.status import RaftStatus
from utils.rpc.authz import refuse
from utils.rpc.core.authz import Verdict, raft_sender_is
from utils.tls import peer_identity

log = logging.getLogger(__name__)


class PeerExchange(Protocol):
    """What the servicer needs from the driver."""

    def exchange(self, message: Message) -> Message | None:
        """Steps a peer's request and returns the core's response to it (None: no response)."""
        ...


class RaftServicer(raft_pb2_grpc.RaftServicer):
    def __init__(
        self,
        node_id: str,
        peer_ids: frozenset[str],
        exchange: Callable[[], PeerExchange | None],
        status: Callable[[], RaftStatus],
        drops: DropCounter | None = None,
    ) -> None:
        self._node_id = node_id
        self._peer_ids = peer_ids
        self._exchange = exchange
        self._status = status
        self._drops = drops if drops is not None else DropCounter(node_id)
        self.rejected_requests = 0

    def _handle(self, message: Message, context: grpc.ServicerContext) -> pb.PeerReply:
        identity = peer_identity(context)
        if not raft_sender_is(message.sender, identity):
            # docs/trust.md: a member may speak only for itself; the group check is the server's authz table.
            self.rejected_requests += 1
            self._drops.drop(DropReason.FORGED_SENDER, message)
            refuse(
                context, Verdict.PERMISSION_DENIED, identity, f"raft {message.type.value} as {message.sender!r}", "raft"
            )
        if message.recipient != self._node_id or message.sender not in self._peer_ids:
            # A misrouted or foreign request: a configuration error, not a protocol event.
            self.rejected_requests += 1
            self._drops.drop(DropReason.UNKNOWN_PEER, message)
            context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"raft request from {message.sender!r} for {message.recipient!r} reached "
                f"{self._node_id!r}: peer lists differ",
            )
        exchange = self._exchange()
        if exchange is None:
            self._drops.drop(DropReason.NOT_RUNNING, message)
            context.abort(grpc.StatusCode.UNAVAILABLE, f"raft node {self._node_id} is not running")
        try:
            response = exchange.exchange(message)
        except RaftUnavailable as error:
            code = grpc.StatusCode.RESOURCE_EXHAUSTED if error.overloaded else grpc.StatusCode.UNAVAILABLE
            context.abort(code, error.reason)
        return wire.reply_to_wire(response)

    def RequestVote(self, request: pb.VoteRequest, context: grpc.ServicerContext) -> pb.PeerReply:
        return self._handle(wire.vote_request_from_wire(request), context)

    def AppendEntries(self, request: pb.AppendRequest, context: grpc.ServicerContext) -> pb.PeerReply:
        return self._handle(wire.append_request_from_wire(request), context)

    def InstallSnapshot(self, request: pb.SnapshotRequest, context: grpc.ServicerContext) -> pb.PeerReply:
        if not request.HasField("snapshot"):
            self._drops.drop(DropReason.MALFORMED)
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "InstallSnapshot without a snapshot")
        return self._handle(wire.snapshot_request_from_wire(request), context)

    def TimeoutNow(self, request: pb.TimeoutNowRequest, context: grpc.ServicerContext) -> pb.PeerReply:
        return self._handle(wire.timeout_now_from_wire(request), context)

    def Status(self, request: pb.StatusRequest, context: grpc.ServicerContext) -> pb.StatusReply:
        return status_to_wire(self._status())


def status_to_wire(s: RaftStatus) -> pb.StatusReply:
    return pb.StatusReply(
        node_id=s.node_id,
        role=s.role.value,
        term=s.term,
        leader_id=s.leader_id or "",
        leader_address=s.leader_address or "",
        commit_index=s.commit_index,
        applied_index=s.applied_index,
        last_index=s.last_index,
        snapshot_index=s.snapshot_index,
        log_entries=s.log_entries,
        peer_rpcs_sent=s.peer_rpcs_sent,
        peer_rpcs_failed=s.peer_rpcs_failed,
        log_tail=[pb.LogTailEntry(index=e.index, term=e.term, kind=e.kind.name.lower()) for e in s.log_tail],
        match_index=dict(s.match_index),
        elections=[
            pb.Election(term=e.term, winner=e.winner, at_unix_s=e.at_s, why=e.why.value if e.why else "")
            for e in s.elections
        ],
    )
