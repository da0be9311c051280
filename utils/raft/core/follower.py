"""A follower's answers to its leader: AppendEntries (Raft §5.3) and InstallSnapshot (§7).

It decides what to accept, what to truncate and what hint to give on a mismatch so the leader
can back up a whole term per round trip.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from utils.raft.core.types import Message, MessageType

if TYPE_CHECKING:
    from utils.raft.core.raft import Raft


def handle_append(r: Raft, m: Message) -> None:
    log = r.log
    if m.index < log.committed:
        # Everything up to our commit index matches the leader's (Leader Completeness); skip the
        # part we know and say where we are.
        r.send(MessageType.APPEND_RESPONSE, m.sender, index=log.committed, context=m.context)
        return
    last_new = log.maybe_append(m.index, m.log_term, m.commit, m.entries)
    if last_new is not None:
        r.send(MessageType.APPEND_RESPONSE, m.sender, index=last_new, context=m.context)
        return
    # Mismatch at m.index: hint the last index whose term is <= the leader's previous term, so
    # the leader skips every entry of a term we do not share.
    hint_index, hint_term = log.find_conflict_by_term(min(m.index, log.last_index), m.log_term)
    r.send(
        MessageType.APPEND_RESPONSE,
        m.sender,
        index=m.index,
        reject=True,
        reject_hint=hint_index,
        reject_term=hint_term,
        context=m.context,
    )


def handle_snapshot(r: Raft, m: Message) -> None:
    snapshot = m.snapshot
    assert snapshot is not None  # validated
    log = r.log
    if snapshot.index <= log.committed:
        pass  # stale: we already hold at least as much
    elif log.term(snapshot.index) == snapshot.term:
        # Our log already holds the snapshot's last entry: only the commit index moves.
        log.commit_to(snapshot.index)
    else:
        log.restore(snapshot)  # Ready.snapshot: the runtime persists it and rebuilds its state
    r.send(MessageType.SNAPSHOT_RESPONSE, m.sender, index=log.committed)
