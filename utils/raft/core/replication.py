"""Leader-side log replication: what to send each follower, acting on its answers, committing.

It decides batching and pipelining (etcd's probe/replicate/snapshot Progress), fast backtracking of
a divergent follower, snapshot sending when its next entry was compacted, and Raft §5.4.2 commits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from utils.raft.core.progress import Progress, ProgressState
from utils.raft.core.quorum import committed_index
from utils.raft.core.types import Entry, Message, MessageType, NodeId, ReadState, Role

if TYPE_CHECKING:
    from utils.raft.core.raft import Raft


def send_append(r: Raft, to: NodeId, context: bytes = b"") -> bool:
    """Sends `to` its next batch of entries (or the snapshot); False when paused or nothing to send."""
    pr = r.progress[to]
    if pr.is_paused():
        return False
    log = r.log
    prev_index = pr.next - 1
    prev_term = log.term(prev_index)
    if prev_term is None:
        assert prev_index < log.offset, (prev_index, log.offset, log.last_index)
        send_snapshot(r, to, pr)
        return True
    last_index = log.last_index
    entries: tuple[Entry, ...] = ()
    if pr.next <= last_index:
        entries = log.slice(pr.next, min(last_index, prev_index + r.config.entries_per_message_max))
    elif pr.state is ProgressState.REPLICATE:
        return False  # caught up: heartbeats carry liveness and the commit index
    r.send(
        MessageType.APPEND,
        to,
        index=prev_index,
        log_term=prev_term,
        entries=entries,
        commit=log.committed,
        context=context,
    )
    pr.idle_ticks = 0
    if entries:
        pr.sent_entries(entries[-1].index)
    else:
        pr.probe_sent = True
    return True


def send_append_all(r: Raft, to: NodeId) -> None:
    """Sends as much as the follower's flow control allows (one probe, or a pipeline of batches)."""
    pr = r.progress[to]
    while send_append(r, to) and pr.state is ProgressState.REPLICATE:
        pass


def send_snapshot(r: Raft, to: NodeId, pr: Progress) -> None:
    snapshot = r.log.snapshot
    assert snapshot is not None
    r.send(MessageType.SNAPSHOT, to, snapshot=snapshot, commit=r.log.committed)
    pr.idle_ticks = 0
    pr.become_snapshot(snapshot.index)


def broadcast_append(r: Raft) -> None:
    for peer in r.others:
        send_append_all(r, peer)


def send_heartbeat(r: Raft, to: NodeId, context: bytes) -> None:
    """Raft §5.2 heartbeat: an empty APPEND at the follower's match point (it always matches)."""
    pr = r.progress[to]
    if pr.state is ProgressState.PROBE and not pr.probe_sent:
        if send_append(r, to, context):
            return  # the probe doubles as this round's heartbeat
    log = r.log
    prev_index = pr.match
    if pr.state is ProgressState.REPLICATE and pr.inflights and pr.stalled_ticks >= r.config.heartbeat_ticks:
        # No acknowledgement for a whole interval: probe the end of what we sent, so a lost
        # APPEND shows up as a rejection (etcd does the same on heartbeat responses).
        prev_index = pr.next - 1
    prev_term = log.term(prev_index)
    if prev_term is None:  # match point compacted away: a pure liveness ping
        prev_index, prev_term = 0, 0
    r.send(MessageType.APPEND, to, index=prev_index, log_term=prev_term, commit=log.committed, context=context)
    pr.idle_ticks = 0


def broadcast_heartbeat(r: Raft, context: bytes) -> None:
    for peer in r.others:
        send_heartbeat(r, peer, context)


def age_followers(r: Raft) -> None:
    """One leader tick more since each follower was last sent anything."""
    for peer in r.others:
        r.progress[peer].idle_ticks += 1


def heartbeat_idle_followers(r: Raft) -> None:
    """Raft §5.2's heartbeat, only to a follower sent nothing for a heartbeat interval.

    Any APPEND resets a follower's election timer and its answer counts for CheckQuorum just as a
    heartbeat's does, so under load heartbeats vanish. A follower still hears from its leader at
    least every heartbeat interval, as with fixed rounds: no election timeout can expire sooner.

    Every APPEND carries the leader's commit index, and no message goes just to announce a commit:
    nothing waits on a follower's apply (clients are answered by the leader, reads run there), so a
    follower learns each commit from the next APPEND it is sent, at most one heartbeat interval on.
    """
    for peer in r.others:
        if r.progress[peer].idle_ticks >= r.config.heartbeat_ticks:
            if not _entries_at_flush(r, r.progress[peer]):
                send_heartbeat(r, peer, b"")


def _entries_at_flush(r: Raft, pr: Progress) -> bool:
    """Proposals wait for this Ready's flush, which sends this follower entries: a heartbeat now is redundant."""
    return (
        r.broadcast_pending
        and pr.state is ProgressState.REPLICATE
        and not pr.is_paused()
        and pr.next <= r.log.last_index
    )


def detect_stalls(r: Raft) -> None:
    """Retransmission: an APPEND or SNAPSHOT that got no answer for too long is sent again."""
    for peer in r.others:
        pr = r.progress[peer]
        if pr.state is ProgressState.REPLICATE and pr.inflights:
            pr.stalled_ticks += 1
            limit = r.replicate_stall_ticks_max
        elif pr.state is ProgressState.SNAPSHOT:
            pr.stalled_ticks += 1
            limit = r.snapshot_stall_ticks_max
        else:
            continue
        if pr.stalled_ticks >= limit:
            pr.become_probe()
            send_append(r, peer)


def handle_append_response(r: Raft, m: Message) -> None:
    pr = r.progress[m.sender]
    pr.recent_active = True
    if m.context:
        handle_read_ack(r, m.sender, m.context)
    if m.reject:
        _handle_rejection(r, m, pr)
        return
    if m.index > r.log.last_index:
        r.drop("acknowledged an index the leader never sent")
        return
    if pr.maybe_update(m.index) or (pr.state is ProgressState.PROBE and m.index >= pr.next - 1):
        if pr.state is ProgressState.PROBE:
            pr.become_replicate()
        elif pr.state is ProgressState.SNAPSHOT and pr.match + 1 >= r.log.first_index:
            pr.become_probe()
            pr.become_replicate()
        elif pr.state is ProgressState.REPLICATE:
            pr.free_inflights_to(m.index)
        maybe_commit(r)  # the new commit index rides the next APPEND or heartbeat to each follower
        send_append_all(r, m.sender)
        _maybe_finish_transfer(r, m.sender)
    elif pr.state is ProgressState.PROBE and pr.probe_sent:
        # An answer to a heartbeat: the follower is alive but our probe got lost — resend it.
        pr.probe_sent = False
        send_append(r, m.sender)


def _handle_rejection(r: Raft, m: Message, pr: Progress) -> None:
    # Fast backtracking: the follower names its last index with a term <= our previous term
    # (hint) and that term; we skip to the last entry of ours with a term <= it, so every round
    # trip jumps back a whole term on both logs instead of one entry.
    next_probe = m.reject_hint
    if m.reject_term > 0:
        next_probe, _ = r.log.find_conflict_by_term(m.reject_hint, m.reject_term)
    if pr.maybe_decrease_to(m.index, next_probe):
        if pr.state is ProgressState.REPLICATE:
            pr.become_probe()
        send_append(r, m.sender)


def handle_snapshot_response(r: Raft, m: Message) -> None:
    pr = r.progress[m.sender]
    pr.recent_active = True
    if m.index > r.log.last_index:
        r.drop("acknowledged an index the leader never sent")
        return
    if not m.reject and pr.maybe_update(m.index):
        maybe_commit(r)
    if pr.state is ProgressState.SNAPSHOT:
        pr.become_probe()
        if not m.reject and pr.match + 1 >= r.log.first_index:
            pr.become_replicate()
    send_append_all(r, m.sender)
    _maybe_finish_transfer(r, m.sender)


def maybe_commit(r: Raft) -> bool:
    """Raft §5.4.2 (Figure 8): commit the majority-held index only if it is of the current term."""
    index = committed_index((r.progress[p].match for p in r.voters), len(r.voters))
    was_committed_in_term = r.log.term(r.log.committed) == r.term
    if not r.log.maybe_commit(index, r.term):
        return False
    if not was_committed_in_term:
        release_reads_awaiting_commit(r)
    return True


def _maybe_finish_transfer(r: Raft, peer: NodeId) -> None:
    if r.role is Role.LEADER and r.transferee == peer and r.progress[peer].match == r.log.last_index:
        r.send(MessageType.TIMEOUT_NOW, peer)


# --- ReadIndex (Raft thesis §6.4) --------------------------------------------------------------
def start_read(r: Raft, context: bytes) -> None:
    if len(r.voters) == 1:
        r.read_states.append(ReadState(r.log.committed, context))
        return
    r.read_only.add_request(r.log.committed, context, r.id)
    r.read_heartbeat_pending = True  # one heartbeat round at the next flush serves every read since


def release_reads_awaiting_commit(r: Raft) -> None:
    waiting, r.reads_awaiting_commit = r.reads_awaiting_commit, []
    for context in waiting:
        start_read(r, context)


def handle_read_ack(r: Raft, sender: NodeId, context: bytes) -> None:
    if r.read_only.receive_ack(sender, context) >= r.quorum:
        for request in r.read_only.advance(context):
            r.read_states.append(ReadState(request.index, request.context))
