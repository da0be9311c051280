"""Durable Raft storage: hard state, log append and truncation, snapshots and compaction survive reopening."""

from __future__ import annotations

from pathlib import Path

import pytest

from utils.raft.core import Entry, EntryKind, HardState, Snapshot
from utils.raft.storage import RaftStorage


def entries(first: int, last: int, term: int) -> tuple[Entry, ...]:
    return tuple(
        Entry(term=term, index=i, kind=EntryKind.NORMAL, data=f"{term}/{i}".encode()) for i in range(first, last + 1)
    )


def reopen(storage: RaftStorage, path: Path) -> RaftStorage:
    storage.close()
    return RaftStorage(path)


def test_empty_storage_loads_a_fresh_state(tmp_path: Path) -> None:
    state = RaftStorage(tmp_path).load()
    assert state.hard_state == HardState() and state.snapshot is None and state.entries == ()


def test_hard_state_and_entries_survive_reopening(tmp_path: Path) -> None:
    storage = RaftStorage(tmp_path)
    storage.persist(HardState(term=3, vote="n2", commit=2), entries(1, 3, 3), None)
    storage = reopen(storage, tmp_path)
    state = storage.load()
    assert state.hard_state == HardState(term=3, vote="n2", commit=2)
    assert state.entries == entries(1, 3, 3)
    assert (storage.first_index, storage.last_index, storage.entry_count) == (1, 3, 3)


def test_hard_state_is_replaced_not_accumulated(tmp_path: Path) -> None:
    storage = RaftStorage(tmp_path)
    storage.persist(HardState(term=1, vote="n1", commit=0), (), None)
    storage.persist(HardState(term=2, vote=None, commit=0), (), None)
    assert reopen(storage, tmp_path).load().hard_state == HardState(term=2, vote=None, commit=0)


def test_appending_at_an_existing_index_truncates_the_conflicting_suffix(tmp_path: Path) -> None:
    # Raft §5.3: a new leader's entry at index 3 replaces 3..5 of the old term.
    storage = RaftStorage(tmp_path)
    storage.persist(None, entries(1, 5, 1), None)
    storage.persist(None, entries(3, 4, 2), None)
    loaded = reopen(storage, tmp_path).load().entries
    assert loaded == entries(1, 2, 1) + entries(3, 4, 2)


def test_appending_past_the_end_is_a_bug(tmp_path: Path) -> None:
    storage = RaftStorage(tmp_path)
    storage.persist(None, entries(1, 2, 1), None)
    with pytest.raises(AssertionError, match="gap"):
        storage.persist(None, entries(4, 4, 1), None)
    assert storage.load().entries == entries(1, 2, 1)  # the failed transaction left nothing behind


def test_compaction_keeps_the_snapshot_and_the_log_after_it(tmp_path: Path) -> None:
    storage = RaftStorage(tmp_path)
    storage.persist(HardState(term=1, commit=8), entries(1, 10, 1), None)
    storage.compact(Snapshot(index=8, term=1, data=b"state@8"))
    storage = reopen(storage, tmp_path)
    state = storage.load()
    assert state.snapshot == Snapshot(index=8, term=1, data=b"state@8")
    assert state.entries == entries(9, 10, 1)
    assert (storage.first_index, storage.last_index, storage.entry_count) == (9, 10, 2)
    storage.persist(None, entries(11, 12, 2), None)  # appending continues after the compacted prefix
    assert reopen(storage, tmp_path).load().entries == entries(9, 10, 1) + entries(11, 12, 2)


def test_compacting_everything_leaves_an_empty_log_positioned_after_the_snapshot(tmp_path: Path) -> None:
    storage = RaftStorage(tmp_path)
    storage.persist(None, entries(1, 4, 1), None)
    storage.compact(Snapshot(index=4, term=1, data=b"s"))
    storage = reopen(storage, tmp_path)
    assert storage.load().entries == () and (storage.first_index, storage.last_index) == (5, 4)
    storage.persist(None, entries(5, 5, 1), None)
    assert storage.load().entries == entries(5, 5, 1)


def test_a_received_snapshot_replaces_the_whole_log(tmp_path: Path) -> None:
    storage = RaftStorage(tmp_path)
    storage.persist(HardState(term=1), entries(1, 6, 1), None)
    # The leader compacted past our log: its snapshot at 20 replaces everything, entries after it follow.
    storage.persist(HardState(term=3, commit=20), entries(21, 22, 3), Snapshot(index=20, term=3, data=b"s20"))
    state = reopen(storage, tmp_path).load()
    assert state.snapshot == Snapshot(index=20, term=3, data=b"s20")
    assert state.entries == entries(21, 22, 3)
    assert state.hard_state == HardState(term=3, commit=20)


def test_the_file_is_in_wal_mode_with_full_sync(tmp_path: Path) -> None:
    storage = RaftStorage(tmp_path)
    journal_mode, synchronous = storage.durability()  # the durability settings are the contract
    assert journal_mode == "wal"
    assert synchronous == 2  # FULL


def test_only_a_commit_index_change_skips_the_fsync(tmp_path: Path) -> None:
    storage = RaftStorage(tmp_path)
    storage.persist(HardState(term=1, vote="n1", commit=0), entries(1, 2, 1), None)
    assert storage.fsyncs == 1
    storage.persist(HardState(term=1, vote="n1", commit=2), (), None)  # commit advanced: no fsync needed
    assert storage.fsyncs == 1
    storage.persist(HardState(term=2, vote=None, commit=2), (), None)  # a new term must be durable
    assert storage.fsyncs == 2
    storage.persist(HardState(term=2, vote="n3", commit=2), (), None)  # so must a vote
    assert storage.fsyncs == 3
    assert reopen(storage, tmp_path).load().hard_state == HardState(term=2, vote="n3", commit=2)
