"""The in-memory Raft log: snapshot + entries, with commit, applied and stable (persisted) marks.

It decides log matching, conflict truncation, the election restriction's "up to date" comparison
and the term search used for fast backtracking; the runtime holds the durable copy.
"""

from __future__ import annotations

from collections.abc import Sequence

from utils.raft.core.types import Entry, Snapshot


class RaftLog:
    """Entries (offset, last_index], the snapshot covering [1, offset], and three marks.

    Invariant: offset <= applied <= committed <= last_index and offset <= stabled <= last_index,
    except that applied may lag below offset while an installed snapshot awaits advance().
    """

    __slots__ = ("snapshot", "pending_snapshot", "offset", "offset_term", "entries", "committed", "applied", "stabled")

    def __init__(self, snapshot: Snapshot | None = None, entries: Sequence[Entry] = (), commit: int = 0) -> None:
        self.snapshot: Snapshot | None = snapshot  # latest snapshot (received or from compact)
        self.pending_snapshot: Snapshot | None = None  # received, not yet made durable
        self.offset = snapshot.index if snapshot else 0
        self.offset_term = snapshot.term if snapshot else 0
        self.entries: list[Entry] = [e for e in entries if e.index > self.offset]
        for position, entry in enumerate(self.entries):
            if entry.index != self.offset + 1 + position:
                raise ValueError(
                    f"restored log is not contiguous after index {self.offset}: "
                    f"found index {entry.index} at position {position}"
                )
        self.stabled = self.last_index
        self.committed = max(commit, self.offset)
        if self.committed > self.last_index:
            raise ValueError(f"restored commit {commit} is beyond the last log index {self.last_index}")
        self.applied = self.offset

    # --- reading -------------------------------------------------------------------------------
    @property
    def first_index(self) -> int:
        return self.offset + 1

    @property
    def last_index(self) -> int:
        return self.offset + len(self.entries)

    @property
    def last_term(self) -> int:
        return self.entries[-1].term if self.entries else self.offset_term

    def term(self, index: int) -> int | None:
        """The term of the entry at `index`; None when compacted away or beyond the end."""
        if index == self.offset:
            return self.offset_term
        if index < self.offset or index > self.offset + len(self.entries):
            return None
        return self.entries[index - self.offset - 1].term

    def entry(self, index: int) -> Entry:
        assert self.offset < index <= self.last_index, (index, self.offset, self.last_index)
        return self.entries[index - self.offset - 1]

    def slice(self, low: int, high: int) -> tuple[Entry, ...]:
        """Entries low..high inclusive; both must be held."""
        assert self.offset < low and high <= self.last_index, (low, high, self.offset, self.last_index)
        return tuple(self.entries[low - self.offset - 1 : high - self.offset])

    def is_up_to_date(self, index: int, term: int) -> bool:
        """Raft §5.4.1: a candidate's log (last index/term) is at least as up to date as ours."""
        last_term = self.last_term
        return term > last_term or (term == last_term and index >= self.last_index)

    def find_conflict(self, entries: Sequence[Entry]) -> int:
        """The index of the first entry that is new or differs in term from ours; 0 if none."""
        for entry in entries:
            if self.term(entry.index) != entry.term:
                return entry.index
        return 0

    def find_conflict_by_term(self, index: int, term: int) -> tuple[int, int]:
        """The largest index <= `index` whose term is <= `term`, with that term.

        Fast backtracking skips a whole term per round trip; past the snapshot the term is unknown
        (returned as 0) and the caller falls back to the snapshot.
        """
        index = min(index, self.last_index)
        while index > self.offset:
            entry_term = self.entries[index - self.offset - 1].term
            if entry_term <= term:
                return index, entry_term
            index -= 1
        if index == self.offset and self.offset_term <= term:
            return index, self.offset_term
        return index, 0

    def unstable_entries(self) -> tuple[Entry, ...]:
        if self.stabled >= self.last_index:
            return ()
        return tuple(self.entries[self.stabled - self.offset :])

    def next_committed_entries(self) -> tuple[Entry, ...]:
        low = max(self.applied, self.offset) + 1
        if low > self.committed:
            return ()
        return self.slice(low, self.committed)

    # --- changing ------------------------------------------------------------------------------
    def maybe_append(self, prev_index: int, prev_term: int, commit: int, entries: Sequence[Entry]) -> int | None:
        """Raft §5.3 AppendEntries receiver: the index of the last new entry, or None on mismatch."""
        if self.term(prev_index) != prev_term:
            return None
        last_new = prev_index + len(entries)
        conflict = self.find_conflict(entries)
        if conflict:
            # Committed entries never change (State Machine Safety); a conflict there is a bug.
            assert conflict > self.committed, (conflict, self.committed)
            self.append(entries[conflict - prev_index - 1 :])
        self.commit_to(min(commit, last_new))
        return last_new

    def append(self, entries: Sequence[Entry]) -> None:
        """Appends entries, truncating a conflicting suffix from entries[0].index on."""
        if not entries:
            return
        first = entries[0].index
        assert self.offset < first <= self.last_index + 1, (first, self.offset, self.last_index)
        assert first > self.committed, (first, self.committed)
        del self.entries[first - self.offset - 1 :]
        self.entries.extend(entries)
        self.stabled = min(self.stabled, first - 1)

    def commit_to(self, index: int) -> None:
        if index > self.committed:
            assert index <= self.last_index, (index, self.last_index)
            self.committed = index

    def maybe_commit(self, index: int, term: int) -> bool:
        """Raft §5.4.2: the leader commits by counting replicas only entries of its own term."""
        if index > self.committed and self.term(index) == term:
            self.commit_to(index)
            return True
        return False

    def stable_to(self, persisted: Sequence[Entry]) -> None:
        """Marks entries the runtime made durable; a suffix truncated meanwhile stays unstable."""
        for entry in reversed(persisted):
            # By Log Matching, the last persisted entry still in our log vouches for all before it.
            if self.term(entry.index) == entry.term:
                self.stabled = max(self.stabled, entry.index)
                return

    def applied_to(self, index: int) -> None:
        assert index <= self.committed, (index, self.committed)
        self.applied = max(self.applied, index)

    def restore(self, snapshot: Snapshot) -> None:
        """Replaces the whole log by a snapshot received from the leader (InstallSnapshot)."""
        assert snapshot.index > self.committed, (snapshot.index, self.committed)
        self.snapshot = snapshot
        self.pending_snapshot = snapshot
        self.offset = snapshot.index
        self.offset_term = snapshot.term
        self.entries = []
        self.committed = snapshot.index
        self.stabled = snapshot.index

    def snapshot_persisted(self, snapshot: Snapshot) -> None:
        if self.pending_snapshot is not None and self.pending_snapshot.index == snapshot.index:
            self.pending_snapshot = None
        self.applied = max(self.applied, snapshot.index)

    def compact(self, index: int, data: bytes) -> None:
        """Drops entries <= index, keeping a snapshot of the application state at index."""
        if index <= self.offset:
            return  # already covered by a newer snapshot (e.g. installed meanwhile)
        assert index <= self.stabled, (index, self.stabled)
        term = self.term(index)
        assert term is not None
        self.snapshot = Snapshot(index=index, term=term, data=data)
        del self.entries[: index - self.offset]
        self.offset = index
        self.offset_term = term
