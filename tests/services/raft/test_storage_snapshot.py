"""A snapshot received from the leader replaces the whole durable log, entries after its index too (Raft §7).

The core drops its whole log when it installs one; entries kept on disk would come back after a restart, unknown to
the leader and possibly in conflict with its log.
"""

from __future__ import annotations

from pathlib import Path

from utils.raft.core import Entry, EntryKind, HardState, Snapshot
from utils.raft.storage import RaftStorage


def _entries(first: int, last: int, term: int) -> tuple[Entry, ...]:
    return tuple(Entry(term, i, EntryKind.NORMAL, f"{term}/{i}".encode()) for i in range(first, last + 1))


def test_an_installed_snapshot_leaves_no_entry_after_it_on_disk(tmp_path: Path) -> None:
    storage = RaftStorage(tmp_path)
    storage.persist(HardState(term=1, vote="n1", commit=2), _entries(1, 5, 1), None)
    snapshot = Snapshot(index=3, term=1, data=b"state at 3")
    storage.persist(HardState(term=2, vote=None, commit=3), (), snapshot)
    assert (storage.first_index, storage.last_index) == (4, 3)
    storage.close()
    reopened = RaftStorage(tmp_path)
    state = reopened.load()
    assert state.snapshot == snapshot and state.entries == ()
    assert state.hard_state == HardState(term=2, vote=None, commit=3)
    reopened.close()
