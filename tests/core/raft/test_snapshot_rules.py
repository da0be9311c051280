"""InstallSnapshot on a follower (Raft §7): what a snapshot may and may not take from the log it arrives at."""

from __future__ import annotations

from random import Random

from utils.raft.core import (
    Config,
    Entry,
    EntryKind,
    HardState,
    Message,
    MessageType,
    PersistedState,
    RawNode,
    Snapshot,
)


def _follower_holding(last_index: int, commit: int) -> RawNode:
    entries = tuple(Entry(1, i, EntryKind.NORMAL, f"put k{i} v".encode()) for i in range(1, last_index + 1))
    restored = PersistedState(HardState(term=1, vote="a", commit=commit), None, entries)
    return RawNode(Config("c", ("a", "b", "c")), Random(0), restored)


def test_a_snapshot_whose_last_entry_the_follower_holds_keeps_the_entries_after_it() -> None:
    """The follower may already have acknowledged entries 11-12 (a leader may have counted them to commit): a late
    snapshot at 10 only moves the commit index, it never erases them."""
    follower = _follower_holding(last_index=12, commit=5)
    follower.step(Message(MessageType.SNAPSHOT, "a", "c", 1, snapshot=Snapshot(10, 1, b"state at 10"), commit=10))
    status = follower.status()
    assert status.last_index == 12 and status.commit_index == 10 and status.snapshot_index == 0
    ready = follower.ready()
    assert ready.snapshot is None
    assert [e.index for e in ready.committed_entries] == list(range(1, 11))


def test_a_snapshot_the_follower_does_not_hold_replaces_its_log() -> None:
    follower = _follower_holding(last_index=4, commit=2)
    follower.step(Message(MessageType.SNAPSHOT, "a", "c", 2, snapshot=Snapshot(10, 2, b"state at 10"), commit=10))
    status = follower.status()
    assert status.last_index == 10 and status.commit_index == 10 and status.snapshot_index == 10
    assert follower.ready().snapshot == Snapshot(10, 2, b"state at 10")
