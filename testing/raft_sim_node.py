"""One simulated Raft node: the production Driver, stepped without threads, on a disk that loses unsynced writes.

It decides where a node may die (every step boundary of the loop: before and after each part of a Ready,
between two messages, between two applied entries, inside a write before its fsync) and what survives.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from concurrent.futures import Future
from random import Random
from typing import Any

from testing.raft_sim_cluster import KeyValueMachine
from utils.raft.core import Entry, HardState, Message, NodeId, PersistedState, Ready, Role, Snapshot
from utils.raft.driver import Driver
from utils.raft.drops import DropCounter
from utils.raft.options import RaftOptions
from utils.raft.ready_loop import Persisted
from utils.raft.storage import needs_fsync


class SimCrash(BaseException):
    """The node dies here. A BaseException, so no `except Exception` in the runtime can swallow it."""


class CrashPlan:
    """Counts a node's step boundaries down to a crash; None: no crash planned."""

    __slots__ = ("countdown", "where")

    def __init__(self) -> None:
        self.countdown: int | None = None
        self.where = ""

    def boundary(self, where: str) -> None:
        if self.countdown is None:
            return
        if self.countdown <= 0:
            self.where = where
            self.countdown = None
            raise SimCrash(where)
        self.countdown -= 1


@dataclasses.dataclass(slots=True)
class _Durable:
    hard_state: HardState
    snapshot: Snapshot | None
    entries: list[Entry] | None  # None: the log as it is now (no unsynced write touched it)


class SimDisk:
    """The Storage the driver writes to, with a page cache: a crash loses every write since the last fsync.

    It fsyncs exactly when the production storage does (storage.needs_fsync), so a runtime that makes a
    vote or an entry visible before its fsync loses it in a crash, as on a real disk after a power cut.
    """

    def __init__(self, crash: CrashPlan) -> None:
        self.hard_state = HardState()
        self.snapshot: Snapshot | None = None
        self.entries: list[Entry] = []  # what the node reads: durable writes plus unsynced ones
        self._term_and_vote: tuple[int, str | None] = (0, None)
        self._unsynced: _Durable | None = None  # what was durable before the first unsynced write
        self._crash = crash
        self.fsyncs = 0
        self.lost_writes = 0

    # ---- Storage ---------------------------------------------------------------------------------
    def load(self) -> PersistedState:
        return PersistedState(self.hard_state, self.snapshot, tuple(self.entries))

    def persist(self, hard_state: HardState | None, entries: tuple[Entry, ...], snapshot: Snapshot | None) -> None:
        if hard_state is None and not entries and snapshot is None:
            return
        self._crash.boundary("writing, before the fsync")  # a torn write is a lost one
        sync = needs_fsync(hard_state, entries, snapshot, self._term_and_vote)
        if not sync:
            self._remember_durable(touches_log=bool(entries) or snapshot is not None)
        if snapshot is not None:
            self.snapshot = snapshot
            self.entries = []  # a received snapshot replaces the whole log
        if entries:
            first = entries[0].index
            offset = self.offset
            assert offset < first <= offset + len(self.entries) + 1, (first, offset, len(self.entries))
            del self.entries[first - offset - 1 :]
            self.entries.extend(entries)
        if hard_state is not None:
            self.hard_state = hard_state
            self._term_and_vote = (hard_state.term, hard_state.vote)
        if sync:
            self._fsync()

    def compact(self, snapshot: Snapshot) -> None:
        self._crash.boundary("compacting")
        offset = self.offset
        assert offset <= snapshot.index <= offset + len(self.entries), (snapshot.index, offset, len(self.entries))
        del self.entries[: snapshot.index - offset]
        self.snapshot = snapshot
        self._fsync()

    @property
    def entry_count(self) -> int:
        return len(self.entries)

    # ---- the model ---------------------------------------------------------------------------------
    @property
    def offset(self) -> int:
        return self.snapshot.index if self.snapshot else 0

    @property
    def last_index(self) -> int:
        return self.offset + len(self.entries)

    def term(self, index: int) -> int | None:
        offset = self.offset
        if index == offset:
            return self.snapshot.term if self.snapshot else 0
        if offset < index <= offset + len(self.entries):
            return self.entries[index - offset - 1].term
        return None

    def durable_term_and_vote(self) -> tuple[int, str | None]:
        """What a power cut now would leave of the term and vote."""
        hard_state = self._unsynced.hard_state if self._unsynced is not None else self.hard_state
        return hard_state.term, hard_state.vote

    def durably_holds(self, index: int) -> bool:
        """Whether a power cut now would leave the entry at `index` as it is now (or a snapshot past it)."""
        lost = self._unsynced
        if lost is None or lost.entries is None:
            return index <= self.offset or self.term(index) is not None
        offset = lost.snapshot.index if lost.snapshot else 0
        if index <= offset:
            return True
        if index > offset + len(lost.entries):
            return False
        return lost.entries[index - offset - 1].term == self.term(index)

    def _remember_durable(self, touches_log: bool) -> None:
        if self._unsynced is None:
            self._unsynced = _Durable(self.hard_state, self.snapshot, None)
        if touches_log and self._unsynced.entries is None:
            self._unsynced.entries = list(self.entries)

    def _fsync(self) -> None:
        self._unsynced = None  # the WAL is sequential: an fsync makes every earlier write durable too
        self.fsyncs += 1

    def crash(self) -> None:
        """Power cut: the page cache is gone; what remains is what was fsynced."""
        lost = self._unsynced
        self._unsynced = None
        if lost is None:
            return
        self.lost_writes += 1
        self.hard_state, self.snapshot = lost.hard_state, lost.snapshot
        self._term_and_vote = (lost.hard_state.term, lost.hard_state.vote)
        if lost.entries is not None:
            self.entries = lost.entries


class KeyValueStateMachine:
    """The test key-value machine behind the StateMachine protocol; apply() returns the entry's index."""

    def __init__(self, crash: CrashPlan, on_apply: Callable[[int, bytes], None]) -> None:
        self.machine = KeyValueMachine()
        self._crash = crash
        self._on_apply = on_apply

    @property
    def data(self) -> dict[str, str]:
        return self.machine.data

    def apply(self, index: int, command: bytes) -> Any:
        self._crash.boundary("applying an entry")
        self.machine.apply(command)
        self._on_apply(index, command)
        return index

    def snapshot(self) -> bytes:
        return self.machine.snapshot()

    def restore(self, data: bytes) -> None:
        self.machine.restore(data)


class ReadyObserver:
    """What the simulation checks around each part of a Ready (after the driver's own code ran)."""

    def after_persist(self, node: DriverNode, ready: Ready) -> None: ...

    def before_apply(self, node: DriverNode, ready: Ready) -> None: ...


class _SimDriver(Driver):
    """The production Driver with a crash boundary around each part of a Ready and the checks' hooks.

    Each override calls the driver's own method, so the order and content are the driver's, not ours.
    """

    node: DriverNode

    def persist_ready(self, ready: Ready) -> Persisted:
        crash = self.node.crash
        crash.boundary("before persisting a Ready")
        persisted = super().persist_ready(ready)
        self.node.observer.after_persist(self.node, ready)
        crash.boundary("after persisting, before sending")
        return persisted

    def send_ready(self, ready: Ready) -> None:
        super().send_ready(ready)
        self.node.crash.boundary("after sending, before applying")

    def apply_ready(self, ready: Ready) -> None:
        self.node.observer.before_apply(self.node, ready)
        super().apply_ready(ready)
        self.node.crash.boundary("after applying, before advancing")

    def run_iteration(self, event: Any = None) -> None:
        super().run_iteration(event)
        # The status other threads read is published lazily (its full view at most once a tick): after a loop
        # turn it must still show the core's role, term, leader and transferee, and its log indexes, exactly.
        shown, core = self.status, self.core_status()
        assert (shown.role, shown.term, shown.leader_id, shown.transferee) == (
            core.role,
            core.term,
            core.leader_id,
            core.transferee,
        ), f"{core.node_id}: the status shows {shown.role} of term {shown.term}, the core {core.role} of {core.term}"
        assert (shown.commit_index, shown.last_index, shown.applied_index) == (
            core.commit_index,
            core.last_index,
            core.applied_index,
        ), f"{core.node_id}: stale indexes in the status {shown} (core {core})"


@dataclasses.dataclass(eq=False)
class DriverNode:
    """A node's process: its driver (gone after a crash), and its disk, which outlives it."""

    node_id: NodeId
    disk: SimDisk
    crash: CrashPlan
    observer: ReadyObserver
    driver: Driver
    machine: KeyValueStateMachine
    replies: list[Future[Message | None]] = dataclasses.field(default_factory=list)
    alive: bool = True

    @property
    def role(self) -> Role:
        return self.driver.core_status().role

    @property
    def term(self) -> int:
        return self.driver.core_status().term


def start_node(
    node_id: NodeId,
    ids: tuple[NodeId, ...],
    options: RaftOptions,
    disk: SimDisk,
    crash: CrashPlan,
    observer: ReadyObserver,
    rng: Random,
    clock: Callable[[], float],
    send: Callable[[Message], None],
    on_role_change: Callable[[NodeId, Role, int], None],
    on_apply: Callable[[NodeId, int, bytes], None],
) -> DriverNode:
    """A node (re)started from what its disk holds, exactly as RaftNode.start() builds one."""
    machine = KeyValueStateMachine(crash, lambda index, command: on_apply(node_id, index, command))
    addresses = {n: f"{n}.sim:1" for n in ids}

    def role_changed(role: Role, term: int) -> None:
        on_role_change(node_id, role, term)

    def send_checked(message: Message) -> None:
        crash.boundary("between two messages")
        send(message)

    driver = _SimDriver(
        options.core_config(node_id, ids),
        addresses,
        options,
        disk,
        machine,
        send_checked,
        role_changed,
        Random(rng.randrange(2**32)),
        DropCounter(node_id),
        clock=clock,
    )
    node = DriverNode(node_id, disk, crash, observer, driver, machine)
    driver.node = node
    driver.start_stepping()
    return node
