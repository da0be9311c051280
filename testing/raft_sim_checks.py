"""Raft's safety properties (Figure 3 of the paper), checked at every step of a simulation.

Election Safety, Log Matching, Leader Completeness, State Machine Safety, that every acknowledged
command is what each node applies at its index, and that every message leaves only once what it
vouches for is durable. A violation raises SafetyViolation.
"""

from __future__ import annotations

from typing import Protocol

from utils.raft.core import Entry, EntryKind, Message, MessageType, NodeId, Role, Snapshot


class LogView(Protocol):
    """What the checks read of a node's disk: its snapshot and the term at an index (None: not held)."""

    @property
    def snapshot(self) -> Snapshot | None: ...

    def term(self, index: int) -> int | None: ...


class SafetyViolation(AssertionError):
    pass


class SafetyChecker:
    def __init__(self) -> None:
        self.leader_of_term: dict[int, NodeId] = {}
        # (index, term) -> (kind, data, term of the previous entry): Log Matching by induction.
        self.log_entries: dict[tuple[int, int], tuple[EntryKind, bytes, int]] = {}
        self.applied_at: dict[int, Entry] = {}  # the one entry every node applies at an index
        self.committed_term: dict[int, tuple[int, int]] = {}  # index -> (entry term, commit term)
        self.acknowledged: dict[int, bytes] = {}  # index -> the command a client was told committed there
        self.checks_count = 0

    def _fail(self, text: str) -> None:
        raise SafetyViolation(text)

    def on_role(self, node_id: NodeId, role: Role, term: int) -> None:
        """Election Safety: at most one leader per term."""
        if role is not Role.LEADER:
            return
        self.checks_count += 1
        holder = self.leader_of_term.setdefault(term, node_id)
        if holder != node_id:
            self._fail(f"election safety: {holder} and {node_id} both lead term {term}")

    def on_persist(self, node_id: NodeId, storage: LogView, entries: tuple[Entry, ...]) -> None:
        """Log Matching: one (index, term) names one entry, always after the same previous term."""
        for entry in entries:
            self.checks_count += 1
            previous_term = storage.term(entry.index - 1)
            assert previous_term is not None
            shape = (entry.kind, entry.data, previous_term)
            known = self.log_entries.setdefault((entry.index, entry.term), shape)
            if known != shape:
                self._fail(
                    f"log matching: {node_id} holds {entry} after term {previous_term}, "
                    f"another log holds {known} at the same index and term"
                )

    def on_leader_commit(self, storage: LogView, commit: int, term: int) -> None:
        """Records that everything up to `commit` was committed by (at the latest) term `term`."""
        for index in range(commit, 0, -1):
            known = self.committed_term.get(index)
            if known is not None and known[1] <= term:
                break
            entry_term = storage.term(index)
            if entry_term is None:
                break  # inside the snapshot: recorded when it was committed
            if known is not None and known[0] != entry_term:
                self._fail(
                    f"commit safety: index {index} committed with term {known[0]}, "
                    f"a leader of term {term} committed term {entry_term} there"
                )
            self.committed_term[index] = (entry_term, term if known is None else min(known[1], term))

    def on_leader_commit_advance(self, node_id: NodeId, storage: LogView, commit: int, term: int) -> None:
        """Raft §5.4.2 (Figure 8): a leader moves its commit index only onto an entry of its term."""
        self.checks_count += 1
        entry_term = storage.term(commit)
        if entry_term is not None and entry_term != term:
            self._fail(
                f"figure 8: {node_id}, leader of term {term}, committed up to index {commit} "
                f"whose entry is of term {entry_term}"
            )

    def on_elected(self, node_id: NodeId, storage: LogView, term: int) -> None:
        """Leader Completeness: a leader of term T holds every entry committed in a term < T."""
        snapshot_index = storage.snapshot.index if storage.snapshot else 0
        for index, (entry_term, commit_term) in self.committed_term.items():
            if commit_term >= term or index <= snapshot_index:
                continue
            self.checks_count += 1
            if storage.term(index) != entry_term:
                self._fail(
                    f"leader completeness: {node_id} leads term {term} without entry "
                    f"{index} (term {entry_term}) committed in term {commit_term}"
                )

    def on_apply(self, node_id: NodeId, entry: Entry) -> None:
        """State Machine Safety: no two nodes apply different entries at one index."""
        self.checks_count += 1
        known = self.applied_at.setdefault(entry.index, entry)
        if known != entry:
            self._fail(f"state machine safety: {node_id} applies {entry}, another node applied {known}")
        acknowledged = self.acknowledged.get(entry.index)
        if acknowledged is not None and (entry.kind is not EntryKind.NORMAL or acknowledged != entry.data):
            self._fail(f"acknowledged write lost: {node_id} applies {entry} where {acknowledged!r} was acknowledged")

    def on_acknowledged(self, index: int, command: bytes) -> None:
        """A client was told `command` committed at `index` (the proposer's apply() result)."""
        self.acknowledged[index] = command
        known = self.applied_at.get(index)
        if known is None or known.kind is not EntryKind.NORMAL or known.data != command:
            self._fail(f"acknowledged {command!r} at {index} but {known} is what was applied there")


class DurableView(Protocol):
    """What a power cut now would leave on a node's disk, and what the node reads there."""

    def durable_term_and_vote(self) -> tuple[int, str | None]: ...

    def durably_holds(self, index: int) -> bool: ...


def undurable_message(disk: DurableView, m: Message) -> str | None:
    """Raft §5.1, Figure 2: the term, vote and log a message vouches for are durable when it leaves.

    Checked at the moment the runtime hands the message out (to the network, or to the RPC waiting for
    it), against what a crash at that moment would leave; None when it is covered. A message of a term
    the node has durably left promises nothing more: whoever counts it (a leader of that term) has been
    superseded, as if the message had been delayed past the node's next step (which Raft allows).
    """
    if m.type in (MessageType.PRE_VOTE, MessageType.PRE_VOTE_RESPONSE):
        return None  # a pre-vote promises nothing and changes no state
    term, vote = disk.durable_term_and_vote()
    if term < m.term:
        return f"{m.type.value} of term {m.term} sent while the durable term is {term}"
    if term > m.term:
        return None
    if m.type is MessageType.VOTE and (term, vote) != (m.term, m.sender):
        return f"vote request of term {m.term} sent before its own vote was durable (durable: {term}, {vote})"
    if m.type is MessageType.VOTE_RESPONSE and not m.reject and (term, vote) != (m.term, m.recipient):
        return f"vote for {m.recipient} in term {m.term} granted before it was durable (durable: {term}, {vote})"
    if m.type is MessageType.APPEND and m.entries:
        last = m.entries[-1]
        if not disk.durably_holds(last.index):
            return f"entry {last.index} of term {last.term} sent to {m.recipient} before it was durable"
    if m.type in (MessageType.APPEND_RESPONSE, MessageType.SNAPSHOT_RESPONSE) and not m.reject:
        if not disk.durably_holds(m.index):
            return f"{m.type.value} acknowledging index {m.index} sent before that entry was durable"
    return None
