"""The one loop per Raft node: inbox → step → Ready (via ready_loop.handle_ready) → compact, and the ticker.

Only this thread touches the core and the storage; other threads reach it through a bounded inbox and futures.
The simulator runs the same loop without the thread: run_iteration() under its own clock, storage and network.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from utils.raft import wire
from utils.raft.core import Config, Entry, EntryKind, Message, RawNode, Ready, Role, Snapshot, Status
from utils.raft.core.elections import ElectionHistory
from utils.raft.drops import DropCounter, DropReason
from utils.raft.errors import NotLeader, RaftUnavailable
from utils.raft.options import RaftOptions
from utils.raft.ready_loop import Persisted, handle_ready
from utils.raft.replies import ReplySlots
from utils.raft.state_machine import StateMachine
from utils.raft.status import ELECTIONS_MAX, LOG_TAIL_MAX, RaftStatus, TailEntry
from utils.raft.storage import Storage
from utils.raft.waiters import Waiters

log = logging.getLogger(__name__)
T = TypeVar("T")

READIES_PER_ITERATION_MAX = 8


@dataclass(slots=True)
class _Step:
    message: Message
    reply: Future[Message | None] | None  # a peer RPC waiting for the core's response; None: a response


@dataclass(slots=True)
class _Propose:
    data: bytes
    future: Future[Any]


@dataclass(slots=True)
class _ReadIndex:
    context: bytes
    future: Future[int]


@dataclass(slots=True)
class _Transfer:
    target: str
    future: Future[None]


_Event = _Step | _Propose | _ReadIndex | _Transfer


def _refusal_reason(refused: RaftUnavailable) -> DropReason:
    return DropReason.INBOX_FULL if refused.overloaded else DropReason.NOT_RUNNING


class Driver:
    def __init__(
        self,
        config: Config,
        addresses: dict[str, str],
        options: RaftOptions,
        storage: Storage,
        state_machine: StateMachine,
        send: Callable[[Message], None],
        on_role_change: Callable[[Role, int], None],
        rng: random.Random,
        drops: DropCounter,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._addresses = addresses
        self._options = options
        self._storage = storage
        self._sm = state_machine
        self._send = send
        self._on_role_change = on_role_change
        self._drops = drops
        self._clock = clock  # monotonic seconds; the simulator's own clock in a simulation
        # SimpleQueue: put and get in C, no Condition and no per-wait lock allocation as queue.Queue has
        # (~1 in 8 of a loaded leader's CPU went to Condition.notify/wait). The bound is kept by _submit.
        self._inbox: queue.SimpleQueue[_Event] = queue.SimpleQueue()
        self._inbox_put_lock = threading.Lock()  # makes "check the bound, then put" one step for producers
        self._apply_lock = threading.Lock()
        self._applied_changed = threading.Condition(self._apply_lock)  # notified after every applied batch
        self._applied = 0
        self._applied_term = 0
        self._snapshot_index = 0
        self._waiters = Waiters()
        self._replies = ReplySlots()
        self._role = Role.FOLLOWER
        self._leader: str | None = None
        self._running = False
        self._fatal: BaseException | None = None
        self._next_tick = 0.0  # clock time of the next core tick
        self._thread = threading.Thread(target=self._run, name=f"raft-driver-{config.node_id}", daemon=True)
        self._raw = self._restore(rng)
        # Monotonic time each peer last answered us or sent us a request: stop() transfers only to a live one.
        self._heard_at: dict[str, float] = {}
        self._elections = ElectionHistory(ELECTIONS_MAX)
        self._tail: tuple[TailEntry, ...] = ()  # rebuilt only when the log's ends move
        self._tail_key = (-1, -1, -1)
        # The status other threads read, in two parts each replaced whole, never mutated: the full view,
        # rebuilt when the node's identity moves and otherwise at most once a tick; and the few numbers that
        # move with every entry, refreshed after every loop turn (a tuple: one reference, read atomically).
        self._progress = self._read_progress()
        self._identity = self._raw.identity()
        self._full_status = self._build_status()
        self._full_status_due = 0.0  # clock time after which a loop turn rebuilds the full view

    # ---- life cycle ----------------------------------------------------------------------------

    def _restore(self, rng: random.Random) -> RawNode:
        """Rebuilds the state machine from the stored snapshot; the core re-emits committed entries after it."""
        persisted = self._storage.load()
        if persisted.snapshot is not None:
            self._sm.restore(persisted.snapshot.data)
            self._applied = self._snapshot_index = persisted.snapshot.index
            self._applied_term = persisted.snapshot.term
        fresh = persisted.snapshot is None and not persisted.entries and persisted.hard_state.term == 0
        return RawNode(self._config, rng, None if fresh else persisted)

    def start(self) -> None:
        self._running = True
        self._thread.start()

    def start_stepping(self) -> None:
        """Starts the node without its thread: the caller runs run_iteration() itself (the simulator)."""
        self._running = True
        self._next_tick = self._clock() + self._options.tick_s

    def stop(self) -> bool:
        """Stops the loop; False when it did not finish its iteration in time (a stuck apply or disk)."""
        self._running = False
        if self._thread.ident is not None:
            self._thread.join(timeout=self._options.stop_timeout_s)
        stopped = not self._thread.is_alive()
        if not stopped:
            log.error("raft driver did not stop in time", extra={"node": self._config.node_id})
        self._fail_everything(RaftUnavailable("raft node stopped"))
        return stopped

    @property
    def running(self) -> bool:
        return self._running and self._fatal is None

    @property
    def inbox_queued(self) -> int:
        return self._inbox.qsize()

    # ---- the inbox (any thread) ----------------------------------------------------------------

    def _submit(self, event: _Event) -> None:
        if not self.running:
            raise RaftUnavailable(f"raft node {self._config.node_id} is not running", outcome_unknown=False)
        with self._inbox_put_lock:  # only the driver takes events out: the size can only shrink meanwhile
            if self._inbox.qsize() >= self._options.inbox_max:
                raise RaftUnavailable("raft inbox full", overloaded=True)
            self._inbox.put_nowait(event)

    def deliver(self, message: Message) -> None:
        """A response that came back on an outgoing RPC; dropped when the node is busy (Raft resends)."""
        self._heard_at[message.sender] = self._clock()
        try:
            self._submit(_Step(message, None))
        except RaftUnavailable as refused:
            self._drops.drop(_refusal_reason(refused), message)

    def exchange(self, message: Message) -> Message | None:
        reply = self.submit_request(message)
        try:
            return reply.result(timeout=self._options.reply_wait_s)
        except TimeoutError:
            self._drops.drop(DropReason.REPLY_TIMEOUT, message)
            return None

    def submit_request(self, message: Message) -> Future[Message | None]:
        """Steps a peer's request; the future gets the core's response once it is persisted (None: none)."""
        self._heard_at[message.sender] = self._clock()
        reply: Future[Message | None] = Future()
        try:
            self._submit(_Step(message, reply))
        except RaftUnavailable as refused:
            self._drops.drop(_refusal_reason(refused), message)
            raise
        return reply

    def propose(self, data: bytes) -> Future[Any]:
        future: Future[Any] = Future()
        self._submit(_Propose(data, future))
        return future

    def read_index(self, context: bytes) -> Future[int]:
        future: Future[int] = Future()
        self._submit(_ReadIndex(context, future))
        return future

    def transfer_leadership(self, target: str) -> Future[None]:
        future: Future[None] = Future()
        self._submit(_Transfer(target, future))
        return future

    # ---- the applied state (any thread) --------------------------------------------------------

    def read_at(self, index: int, fn: Callable[[StateMachine], T], timeout_s: float) -> T:
        """fn(state machine) once everything up to `index` is applied; RaftUnavailable after timeout_s."""
        with self._applied_changed:
            caught_up = self._applied_changed.wait_for(
                lambda: self._applied >= index or not self.running, timeout=timeout_s
            )
            if not caught_up or self._applied < index:
                raise RaftUnavailable("read timed out waiting for the log to apply")
            return fn(self._sm)

    def read_local(self, fn: Callable[[StateMachine], T]) -> tuple[int, T]:
        """fn(state machine) on whatever is applied now, with that applied index."""
        with self._apply_lock:
            return self._applied, fn(self._sm)

    # ---- the loop (driver thread) --------------------------------------------------------------

    def _run(self) -> None:
        self._next_tick = self._clock() + self._options.tick_s
        try:
            while self._running:
                wait_s = 0.0 if self._raw.has_ready() else max(0.0, self._next_tick - self._clock())
                try:
                    event = self._inbox.get(timeout=wait_s)
                except queue.Empty:
                    event = None
                self.run_iteration(event)
        except BaseException as error:  # storage failure or a broken invariant: stop loudly, never limp on
            log.critical("raft driver failed; node stopped", exc_info=True, extra={"node": self._config.node_id})
            self._fatal = error
            self._fail_everything(RaftUnavailable(f"raft node failed: {error!r}"))
        finally:
            self._publish_status(rebuild=True)

    def run_iteration(self, event: _Event | None = None) -> None:
        """One turn of the loop: `event` and everything queued, the ticks due, up to 8 Readys, compaction."""
        if event is not None:
            self._handle(event)
        # Drain: everything already queued joins this Ready, so the proposals that arrived
        # during the last fsync share the next one and the next APPEND to each follower.
        for _ in range(self._options.inbox_max):
            try:
                self._handle(self._inbox.get_nowait())
            except queue.Empty:
                break
        now = self._clock()
        tick_s = self._options.tick_s
        if now >= self._next_tick:
            # A stall (GC, SIGSTOP) is not replayed tick by tick: CheckQuorum and elections only
            # need time to advance, and safety never depends on it.
            elapsed_ticks = int((now - self._next_tick) / tick_s) + 1
            for _ in range(min(elapsed_ticks, self._options.tick_catch_up_max)):
                self._raw.tick()
            self._next_tick += elapsed_ticks * tick_s
        for _ in range(READIES_PER_ITERATION_MAX):  # bounded: the inbox and the ticker never starve
            if handle_ready(self._raw, self) is None:
                break
        self._replies.settle()  # a request that produced no Ready has no response
        self._maybe_compact()
        self._publish_status(rebuild=False)

    def _handle(self, event: _Event) -> None:
        if isinstance(event, _Step):
            self._raw.step(event.message)  # never raises: the core drops and counts bad peer input
            if event.reply is not None:
                self._replies.add(event.message, event.reply)
            return
        try:
            if isinstance(event, _Propose):
                term, index = self._raw.propose(event.data)
                self._waiters.add_proposal(term, index, event.data, event.future)
            elif isinstance(event, _ReadIndex):
                self._raw.read_index(event.context)
                self._waiters.add_read(event.context, event.future)
            else:
                self._raw.transfer_leadership(event.target)
                event.future.set_result(None)
        except NotLeader as error:  # the core's, which knows no addresses
            event.future.set_exception(self._not_leader(error.leader_id))
        except (TypeError, ValueError) as error:  # the caller's misuse: its error, not the node's
            event.future.set_exception(error)

    def _not_leader(self, leader: str | None) -> Exception:
        if self._raw.role is Role.LEADER or leader == self._config.node_id:
            # Still the leader, but handing over: refuse now, the successor takes requests in a moment.
            return RaftUnavailable("leadership transfer in progress; retry shortly", outcome_unknown=False)
        return NotLeader(leader, self._addresses.get(leader) if leader else None)

    # ---- one Ready, in handle_ready's order (ready_loop.ReadyHandler; driver thread only) ------

    def persist_ready(self, ready: Ready) -> Persisted:
        self._storage.persist(ready.hard_state, ready.entries, ready.snapshot)
        if ready.soft_state is not None:
            self._change_role(
                ready.soft_state.role,
                ready.soft_state.leader_id,
                ready.hard_state.term if ready.hard_state is not None else self._raw.term,
            )
        return Persisted.CONTINUE

    def send_ready(self, ready: Ready) -> None:
        for message in ready.messages:
            if message.type not in wire.RESPONSE_TYPES:
                self._send(message)
            elif not self._replies.answer(message):
                self._drops.drop(DropReason.REPLY_EXPIRED, message)  # a lost message, to Raft
        self._replies.settle()

    def apply_ready(self, ready: Ready) -> None:
        if ready.snapshot is None and not ready.committed_entries and not ready.read_states and not ready.dropped_reads:
            return
        with self._applied_changed:
            if ready.snapshot is not None and ready.snapshot.index > self._applied:
                self._restore_snapshot(ready.snapshot)
            for entry in ready.committed_entries:
                if entry.index <= self._applied:
                    continue  # already covered by a snapshot
                self._apply_entry(entry)
            self._applied_changed.notify_all()
        if ready.read_states:
            self._waiters.answer_reads(ready.read_states)
        if ready.dropped_reads:
            self._waiters.refuse_reads(ready.dropped_reads, lambda: self._not_leader(self._leader))

    def _restore_snapshot(self, snapshot: Snapshot) -> None:
        self._sm.restore(snapshot.data)
        self._applied, self._applied_term = snapshot.index, snapshot.term
        self._snapshot_index = snapshot.index
        self._waiters.fail_proposals_through(
            snapshot.index, "replaced by a snapshot; the command may or may not have committed"
        )

    def _apply_entry(self, entry: Entry) -> None:
        assert entry.index == self._applied + 1, f"applying {entry.index} after {self._applied}: a gap"
        result: Any = None
        error: Exception | None = None
        if entry.kind is EntryKind.NORMAL:
            try:
                result = self._sm.apply(entry.index, entry.data)
            except Exception as raised:  # deterministic on every replica: the proposer gets the error
                log.exception("state machine rejected a command", extra={"index": entry.index})
                error = raised
        self._applied, self._applied_term = entry.index, entry.term
        self._waiters.applied(entry, result, error)

    def _change_role(self, role: Role, leader: str | None, term: int) -> None:
        was_leader = self._role is Role.LEADER
        changed = role is not self._role
        self._role, self._leader = role, leader
        if was_leader and role is not Role.LEADER:
            self._waiters.leadership_lost(lambda: self._not_leader(leader))
        if changed:
            # Status first: a listener told "leader in term t" checks status() and must not see the old role.
            self._publish_status(rebuild=True)
            self._on_role_change(role, term)

    def _maybe_compact(self) -> None:
        if self._applied - self._snapshot_index < self._options.snapshot_every_entries:
            return
        with self._apply_lock:
            data = self._sm.snapshot()
        snapshot = Snapshot(index=self._applied, term=self._applied_term, data=data)
        # Snapshot stored and log prefix dropped in one transaction, then the core forgets the prefix too.
        self._storage.compact(snapshot)
        self._raw.compact(snapshot.index, snapshot.data)
        self._snapshot_index = snapshot.index
        log.info(
            "raft log compacted",
            extra={"node": self._config.node_id, "index": snapshot.index, "snapshot_bytes": len(data)},
        )

    def _fail_everything(self, error: RaftUnavailable) -> None:
        self._running = False
        self._waiters.fail_all(error)
        while True:
            try:
                event = self._inbox.get_nowait()
            except queue.Empty:
                break
            waiting: Future[Any] | None = event.reply if isinstance(event, _Step) else event.future
            if waiting is not None and not waiting.done():
                waiting.set_exception(error)
        with self._applied_changed:
            self._applied_changed.notify_all()

    def core_status(self) -> Status:
        """The core's own view right now, between two steps (driver thread only: the simulator's checks)."""
        return self._raw.status()

    def check_invariants(self) -> None:
        """Asserts the core's internal invariants (driver thread only: the simulator, after each iteration)."""
        self._raw.check_invariants()

    # ---- the status (built by the driver thread, read by any) -----------------------------------

    @property
    def status(self) -> RaftStatus:
        """The latest view: identity (role, term, leader, transferee) as of the last loop turn, and the log's
        indexes too; match indexes, peers heard, drops, log tail and elections at most a tick older."""
        full = self._full_status  # read before the progress: the driver publishes progress first
        commit, applied, last, snapshot_index, log_entries = self._progress
        if (full.commit_index, full.applied_index, full.last_index) == (commit, applied, last) and (
            full.snapshot_index,
            full.log_entries,
        ) == (snapshot_index, log_entries):
            return full
        return dataclasses.replace(
            full,
            commit_index=commit,
            applied_index=applied,
            last_index=last,
            snapshot_index=snapshot_index,
            log_entries=log_entries,
        )

    def _read_progress(self) -> tuple[int, int, int, int, int]:
        raw = self._raw
        return (raw.commit_index, self._applied, raw.last_index, self._snapshot_index, self._storage.entry_count)

    def _publish_status(self, rebuild: bool) -> None:
        """After a loop turn: the indexes always; the full view only when it is due or the identity moved.

        A full view built after every turn cost ~8% of a loaded leader's CPU, for readers (status RPCs, the
        Cluster tab, stop()'s transfer) that look a few times a second. The identity is compared every turn,
        so no reader ever sees an old role, term or leader after the turn that changed it.
        """
        self._progress = self._read_progress()  # first: a reader never pairs a full view with older indexes
        identity = self._raw.identity()
        now = self._clock()
        if rebuild or identity != self._identity or now >= self._full_status_due:
            self._identity = identity
            self._full_status = self._build_status()
            self._full_status_due = now + self._options.tick_s

    def _build_status(self) -> RaftStatus:
        core = self._raw.status()
        commit, applied, last, snapshot_index, log_entries = self._progress
        assert (commit, last) == (core.commit_index, core.last_index), "the progress was read on another turn"
        return RaftStatus(
            node_id=self._config.node_id,
            role=core.role,
            term=core.term,
            leader_id=core.leader_id,
            leader_address=self._addresses.get(core.leader_id) if core.leader_id else None,
            commit_index=commit,
            applied_index=applied,
            last_index=last,
            snapshot_index=snapshot_index,
            log_entries=log_entries,
            running=self.running,
            match_index=dict(core.match_index),
            transferee=core.transferee,
            peer_heard_at_s=dict(self._heard_at),
            dropped_by_reason=self._drops.counts(),
            log_tail=self._log_tail(core),
            elections=self._elections.observe(core, time.time()),  # wall clock: compared across nodes
        )

    def _log_tail(self, core: Status) -> tuple[TailEntry, ...]:
        newest = self._raw.log_tail(1)
        key = (core.first_index, newest[0].index, newest[0].term) if newest else (core.first_index, 0, 0)
        if key != self._tail_key:
            self._tail = tuple(TailEntry(e.index, e.term, e.kind) for e in self._raw.log_tail(LOG_TAIL_MAX))
            self._tail_key = key
        return self._tail
