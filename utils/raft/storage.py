"""Durable Raft state in one SQLite file: hard state (term, vote, commit), the log and the latest snapshot.

WAL journal with synchronous=FULL: when `persist` returns, everything it wrote survives a crash or power cut.
Storage is what the driver needs of it; the simulator's disk model implements it too, with the same fsync rule.
"""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path
from typing import Protocol

from utils.raft.core import Entry, EntryKind, HardState, PersistedState, Snapshot

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hard_state (
    id INTEGER PRIMARY KEY CHECK (id = 0), term INTEGER NOT NULL, vote TEXT, commit_index INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    idx INTEGER PRIMARY KEY, term INTEGER NOT NULL, kind INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS snapshot (
    id INTEGER PRIMARY KEY CHECK (id = 0), idx INTEGER NOT NULL, term INTEGER NOT NULL, data BLOB NOT NULL);
"""
FILE_NAME = "raft.sqlite3"


class Storage(Protocol):
    """A node's durable state as the driver uses it (only from its own thread)."""

    def load(self) -> PersistedState:
        """Everything a restarting node needs."""
        ...

    def persist(self, hard_state: HardState | None, entries: tuple[Entry, ...], snapshot: Snapshot | None) -> None:
        """Makes one Ready's durable parts durable before returning (see needs_fsync for the one exception)."""
        ...

    def compact(self, snapshot: Snapshot) -> None:
        """Stores the application's snapshot and drops the log up to its index, durably."""
        ...

    @property
    def entry_count(self) -> int:
        """Entries retained in the log."""
        ...


def needs_fsync(
    hard_state: HardState | None,
    entries: tuple[Entry, ...],
    snapshot: Snapshot | None,
    stored_term_and_vote: tuple[int, str | None],
) -> bool:
    """Whether persisting this must reach the disk before returning: entries, a snapshot, a new term or vote.

    A change of the commit index alone need not (etcd's MustSync): it is recomputed from a quorum after a
    power cut, and a process crash (SIGKILL) loses nothing written to the WAL either way.
    """
    return (
        bool(entries)
        or snapshot is not None
        or (hard_state is not None and (hard_state.term, hard_state.vote) != stored_term_and_vote)
    )


class RaftStorage:
    """One node's durable state. Not thread-safe: only the node's driver thread touches it after open."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / FILE_NAME
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so one Ready is one transaction.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._synchronous = ""
        self._set_synchronous("FULL")  # fsync the WAL at every commit
        self._db.executescript(_SCHEMA)
        self._snapshot_index, self._first_index, self._last_index = self._bounds()
        row = self._db.execute("SELECT term, vote FROM hard_state WHERE id = 0").fetchone()
        self._term_and_vote: tuple[int, str | None] = (row[0], row[1]) if row else (0, None)
        self.fsyncs = 0  # transactions committed with an fsync, for benchmarks

    def _set_synchronous(self, level: str) -> None:
        if level != self._synchronous:
            self._db.execute(f"PRAGMA synchronous={level}")
            self._synchronous = level

    def _bounds(self) -> tuple[int, int, int]:
        """(snapshot index, first index, last index) as stored; kept in memory afterwards."""
        low, high = self._db.execute("SELECT MIN(idx), MAX(idx) FROM entries").fetchone()
        snap = self._db.execute("SELECT idx FROM snapshot WHERE id = 0").fetchone()
        snapshot_index = snap[0] if snap else 0
        if low is None:
            return snapshot_index, snapshot_index + 1, snapshot_index
        return snapshot_index, low, high

    # ---- reading -------------------------------------------------------------------------------

    def load(self) -> PersistedState:
        """Everything a restarting node needs; checks the log is contiguous and follows the snapshot."""
        row = self._db.execute("SELECT term, vote, commit_index FROM hard_state WHERE id = 0").fetchone()
        hard_state = HardState(term=row[0], vote=row[1], commit=row[2]) if row else HardState()
        snap_row = self._db.execute("SELECT idx, term, data FROM snapshot WHERE id = 0").fetchone()
        snapshot = Snapshot(index=snap_row[0], term=snap_row[1], data=bytes(snap_row[2])) if snap_row else None
        entries = tuple(
            Entry(term=term, index=idx, kind=EntryKind(kind), data=bytes(data))
            for idx, term, kind, data in self._db.execute("SELECT idx, term, kind, data FROM entries ORDER BY idx")
        )
        expected_first = snapshot.index + 1 if snapshot else 1
        if entries:
            assert entries[0].index == expected_first, f"log starts at {entries[0].index}, expected {expected_first}"
            assert entries[-1].index - entries[0].index + 1 == len(entries), "durable log has a gap"
        return PersistedState(hard_state=hard_state, snapshot=snapshot, entries=entries)

    @property
    def first_index(self) -> int:
        return self._first_index

    @property
    def last_index(self) -> int:
        return self._last_index

    @property
    def entry_count(self) -> int:
        return self._last_index - self._first_index + 1

    # ---- writing -------------------------------------------------------------------------------

    def persist(self, hard_state: HardState | None, entries: tuple[Entry, ...], snapshot: Snapshot | None) -> None:
        """Makes one Ready's durable parts durable, in one transaction (snapshot, then entries, then hard state).

        Fsynced when needs_fsync says so: everything but a change of the commit index alone.
        """
        if hard_state is None and not entries and snapshot is None:
            return
        must_sync = needs_fsync(hard_state, entries, snapshot, self._term_and_vote)
        self._set_synchronous("FULL" if must_sync else "NORMAL")
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if snapshot is not None:
                self._install_snapshot(snapshot)
            if entries:
                self._append(entries)
            if hard_state is not None:
                db.execute(
                    "INSERT OR REPLACE INTO hard_state (id, term, vote, commit_index) VALUES (0, ?, ?, ?)",
                    (hard_state.term, hard_state.vote, hard_state.commit),
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            self._snapshot_index, self._first_index, self._last_index = self._bounds()
            raise
        if hard_state is not None:
            self._term_and_vote = (hard_state.term, hard_state.vote)
        self.fsyncs += must_sync

    def compact(self, snapshot: Snapshot) -> None:
        """The application snapshotted its state at `snapshot.index`: store it and drop the log up to there."""
        assert self._first_index - 1 <= snapshot.index <= self._last_index, (
            f"compacting to {snapshot.index} outside the log ({self._first_index}..{self._last_index})"
        )
        self._set_synchronous("FULL")
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            self._write_snapshot(snapshot)
            db.execute("DELETE FROM entries WHERE idx <= ?", (snapshot.index,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            self._snapshot_index, self._first_index, self._last_index = self._bounds()
            raise
        self._snapshot_index, self._first_index = snapshot.index, snapshot.index + 1
        self.fsyncs += 1

    def _install_snapshot(self, snapshot: Snapshot) -> None:
        # The core's contract: a received snapshot REPLACES the whole log, entries after its index too
        # (the core only sends it when its log does not hold the snapshot's last entry).
        self._db.execute("DELETE FROM entries")
        self._write_snapshot(snapshot)
        self._snapshot_index = snapshot.index
        self._first_index, self._last_index = snapshot.index + 1, snapshot.index

    def _write_snapshot(self, snapshot: Snapshot) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO snapshot (id, idx, term, data) VALUES (0, ?, ?, ?)",
            (snapshot.index, snapshot.term, snapshot.data),
        )

    def _append(self, entries: tuple[Entry, ...]) -> None:
        first = entries[0].index
        for previous, entry in itertools.pairwise(entries):
            assert entry.index == previous.index + 1, "entries to append must be contiguous"
        assert self._first_index <= first <= self._last_index + 1, (
            f"appending at {first} would leave a gap after {self._last_index} "
            f"or rewrite the compacted prefix before {self._first_index}"
        )
        if first <= self._last_index:
            # The first new entry overwrites a conflicting suffix (Raft §5.3): truncate from there.
            self._db.execute("DELETE FROM entries WHERE idx >= ?", (first,))
        self._db.executemany(
            "INSERT INTO entries (idx, term, kind, data) VALUES (?, ?, ?, ?)",
            [(e.index, e.term, e.kind.value, e.data) for e in entries],
        )
        self._last_index = entries[-1].index

    def durability(self) -> tuple[str, int]:
        """(journal mode, synchronous level) of this connection: the durability contract, for checking."""
        journal_mode = self._db.execute("PRAGMA journal_mode").fetchone()[0]
        synchronous = self._db.execute("PRAGMA synchronous").fetchone()[0]
        return str(journal_mode), int(synchronous)

    def close(self) -> None:
        self._db.close()
