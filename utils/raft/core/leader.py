"""The leader's own timers and client requests: heartbeats, CheckQuorum, proposals, reads, transfer.

It decides when a leader steps down (CheckQuorum), when requests are refused (not leader, or
mid-transfer), and when batched proposals and reads go out (at flush, once per Ready).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from utils.raft.core import replication
from utils.raft.core.types import Entry, EntryKind, MessageType, NodeId, Role
from utils.raft.errors import NotLeader

if TYPE_CHECKING:
    from utils.raft.core.raft import Raft


def tick(r: Raft) -> None:
    assert r.role is Role.LEADER
    r.heartbeat_elapsed += 1
    r.election_elapsed += 1
    if r.election_elapsed >= r.config.election_ticks:
        r.election_elapsed = 0
        if r.config.check_quorum and not _quorum_recently_active(r):
            # CheckQuorum: cut off from a majority for an election timeout, we may already be
            # deposed; stop serving so a stale leader answers nothing.
            r.become_follower(r.term, None)
            return
        if r.transferee is not None:
            r.transferee = None  # the transfer did not finish within an election timeout: abort
    replication.detect_stalls(r)
    replication.age_followers(r)
    if r.heartbeat_elapsed >= r.config.heartbeat_ticks:
        r.heartbeat_elapsed = 0
        context = r.read_only.last_pending_context()
        if context is not None:
            # A read waits for a quorum's acknowledgement of a heartbeat carrying its context, and one
            # may have been lost: the whole round goes out, however busy the followers are.
            replication.broadcast_heartbeat(r, context)
    replication.heartbeat_idle_followers(r)


def _quorum_recently_active(r: Raft) -> bool:
    active = 1  # ourselves
    for peer in r.others:
        pr = r.progress[peer]
        if pr.recent_active:
            active += 1
        pr.recent_active = False
    return active >= r.quorum


def _require_leader(r: Raft) -> None:
    if r.role is not Role.LEADER:
        raise NotLeader(r.leader)
    if r.transferee is not None:
        raise NotLeader(None, reason=f"leadership transfer to {r.transferee} in progress")


def propose(r: Raft, data: bytes) -> tuple[int, int]:
    _require_leader(r)
    if not isinstance(data, bytes):
        raise TypeError(f"propose() takes bytes, not {type(data).__name__}")
    index = r.log.last_index + 1
    r.append_entries([Entry(r.term, index, EntryKind.NORMAL, data)])
    r.broadcast_pending = True  # sent at the next flush, so proposals batch into one APPEND
    return r.term, index


def read_index(r: Raft, context: bytes) -> None:
    _require_leader(r)
    if not isinstance(context, bytes) or not context:
        raise ValueError("read_index() needs a non-empty bytes context")
    if context in r.read_only or context in r.reads_awaiting_commit:
        raise ValueError(f"read context {context!r} is already pending")
    if r.log.term(r.log.committed) != r.term:
        # Raft thesis §6.4: until an entry of its term commits, the leader may not know the
        # latest commit index; queue the read until then.
        r.reads_awaiting_commit.append(context)
        return
    replication.start_read(r, context)


def transfer_leadership(r: Raft, target: NodeId) -> None:
    if r.role is not Role.LEADER:
        raise NotLeader(r.leader)
    if target not in r.peer_set:
        raise ValueError(f"transfer target {target!r} is not a voter")
    if target == r.id:
        r.transferee = None  # already the leader: cancels any transfer in progress
        return
    if r.transferee == target:
        return
    r.transferee = target
    r.election_elapsed = 0  # the transfer gets one election timeout to finish
    if r.progress[target].match == r.log.last_index:
        r.send(MessageType.TIMEOUT_NOW, target)
    else:
        replication.send_append_all(r, target)


def flush(r: Raft) -> None:
    """Sends what batched up since the last Ready: new entries, and one heartbeat round for reads."""
    if r.role is Role.LEADER:
        if r.broadcast_pending:
            replication.broadcast_append(r)
        if r.read_heartbeat_pending:
            context = r.read_only.last_pending_context()
            if context is not None:
                replication.broadcast_heartbeat(r, context)
    r.broadcast_pending = False
    r.read_heartbeat_pending = False
