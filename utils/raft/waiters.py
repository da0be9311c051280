"""The registry of callers waiting on this node: proposals by log index, reads by read context.

Only the driver thread touches it; each waiter's future is completed exactly once, by what the log decides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from utils.raft.core import Entry, EntryKind, ReadState
from utils.raft.errors import RaftUnavailable


@dataclass(frozen=True, slots=True)
class _Pending:
    term: int
    data: bytes  # what was proposed: the entry applied at this index must carry exactly it
    future: Future[Any]


class Waiters:
    __slots__ = ("_proposals", "_reads")

    def __init__(self) -> None:
        self._proposals: dict[int, _Pending] = {}
        self._reads: dict[bytes, Future[int]] = {}

    def add_proposal(self, term: int, index: int, data: bytes, future: Future[Any]) -> None:
        # Indexes only grow within one leadership, and losing it fails every pending proposal.
        assert index not in self._proposals, f"index {index} proposed twice while leader"
        self._proposals[index] = _Pending(term, data, future)

    def add_read(self, context: bytes, future: Future[int]) -> None:
        self._reads[context] = future

    def applied(self, entry: Entry, result: Any, error: Exception | None) -> None:
        """The entry at a proposal's index was applied: its proposer gets the result only if it is its own."""
        pending = self._proposals.pop(entry.index, None)
        if pending is None or pending.future.done():
            return
        if pending.term != entry.term:
            # Another leader's entry took this index: our proposal was lost with our leadership.
            pending.future.set_exception(
                RaftUnavailable("leadership lost; the command was not committed", outcome_unknown=False)
            )
            return
        # Log Matching (Raft §5.3): one entry per (term, index). A proposer only gets its own entry's result.
        assert entry.kind is EntryKind.NORMAL and entry.data == pending.data, (
            f"entry {entry.index} of term {entry.term} is not the command proposed there"
        )
        if error is not None:
            pending.future.set_exception(error)
        else:
            pending.future.set_result(result)

    def fail_proposals_through(self, index: int, reason: str) -> None:
        """A snapshot replaced the log up to `index`: those proposals' outcome is unknown."""
        for proposed in [i for i in self._proposals if i <= index]:
            self._fail_proposal(proposed, reason)

    def leadership_lost(self, read_error: Callable[[], Exception]) -> None:
        # Outcome unknown: a successor may still commit these entries. Fail fast so clients move on.
        for index in list(self._proposals):
            self._fail_proposal(index, "leadership lost; the command may or may not have committed")
        for context in list(self._reads):
            self._reads.pop(context).set_exception(read_error())

    def answer_reads(self, read_states: Iterable[ReadState]) -> None:
        for read in read_states:
            future = self._reads.pop(read.context, None)
            if future is not None and not future.done():
                future.set_result(read.index)

    def refuse_reads(self, contexts: Iterable[bytes], error: Callable[[], Exception]) -> None:
        for context in contexts:
            future = self._reads.pop(context, None)
            if future is not None and not future.done():
                future.set_exception(error())

    def fail_all(self, error: RaftUnavailable) -> None:
        for pending in self._proposals.values():
            if not pending.future.done():
                pending.future.set_exception(error)
        self._proposals.clear()
        for future in self._reads.values():
            if not future.done():
                future.set_exception(error)
        self._reads.clear()

    def _fail_proposal(self, index: int, reason: str) -> None:
        pending = self._proposals.pop(index)
        if not pending.future.done():
            pending.future.set_exception(RaftUnavailable(reason))
