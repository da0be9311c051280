"""The one loop per Raft node: inbox → step → Ready → persist → send → apply → advance, and the ticker.

Only this thread touches the core and the storage. Other threads talk to it through a bounded inbox
and futures. Each iteration drains every queued event before asking for a Ready, so the proposals
that arrived while the last fsync ran share the next fsync and the next APPEND to each follower.
A peer's request may carry a reply slot: the core's response to that sender is handed back through it
after the Ready that holds it was persisted; a request that produced no response gets None.
"""
from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from utils.raft import wire
from utils.raft.core import (
    Config, Entry, EntryKind, Message, MessageType, RawNode, Ready, Role, Snapshot)
from utils.raft.errors import NotLeader, RaftUnavailable
from utils.raft.options import RaftOptions
from utils.raft.state_machine import StateMachine
from utils.raft.status import RaftStatus
from utils.raft.storage import RaftStorage

log = logging.getLogger(__name__)

READIES_PER_ITERATION_MAX = 8

# Which requests a response answers. A SNAPSHOT may be acknowledged with an APPEND_RESPONSE (etcd does).
_ANSWERS: dict[MessageType, frozenset[MessageType]] = {
    MessageType.PRE_VOTE_RESPONSE: frozenset({MessageType.PRE_VOTE}),
    MessageType.VOTE_RESPONSE: frozenset({MessageType.VOTE}),
    MessageType.APPEND_RESPONSE: frozenset({MessageType.APPEND, MessageType.SNAPSHOT}),
    MessageType.SNAPSHOT_RESPONSE: frozenset({MessageType.SNAPSHOT}),
}


@dataclass(slots=True)
class _Step:
    message: Message
    reply: Future[Message | None] | None


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


@dataclass(slots=True)
class _Pending:
    term: int
    data: bytes     # what was proposed: the entry applied at this index must carry exactly it
    future: Future[Any]


class Driver:
    def __init__(self, config: Config, addresses: dict[str, str], options: RaftOptions, storage: RaftStorage,
                 state_machine: StateMachine, send: Callable[[Message], None],
                 on_role_change: Callable[[Role, int], None], rng: random.Random) -> None:
        self._config = config
        self._addresses = addresses
        self._options = options
        self._storage = storage
        self._sm = state_machine
        self._send = send
        self._on_role_change = on_role_change
        self._inbox: queue.Queue[_Event] = queue.Queue(maxsize=options.inbox_max)
        self.apply_lock = threading.Lock()
        self.applied_changed = threading.Condition(self.apply_lock)  # notified after every applied batch
        self.applied = 0
        self._applied_term = 0
        self._snapshot_index = 0
        self._proposals: dict[int, _Pending] = {}
        self._reads: dict[bytes, Future[int]] = {}
        self._role = Role.FOLLOWER
        self._leader: str | None = None
        self._running = False
        self._fatal: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"raft-driver-{config.node_id}", daemon=True)
        self._raw = self._restore(rng)
        self.dropped_responses = 0
        self.match_index: dict[str, int] = {}     # leader only: read by stop() to pick a transfer target
        # (role, transfer target) from one core status: stop() watches its transfer; None when none is on.
        self.transfer_state: tuple[Role, str | None] = (Role.FOLLOWER, None)
        # Monotonic time each peer last answered us or sent us a request: stop() transfers only to a live one.
        self.heard_at: dict[str, float] = {}
        self.status = self._build_status()

    # ---- life cycle ----------------------------------------------------------------------------

    def _restore(self, rng: random.Random) -> RawNode:
        """Rebuilds the state machine from the stored snapshot; the core re-emits committed entries after it."""
        persisted = self._storage.load()
        if persisted.snapshot is not None:
            self._sm.restore(persisted.snapshot.data)
            self.applied = self._snapshot_index = persisted.snapshot.index
            self._applied_term = persisted.snapshot.term
        fresh = persisted.snapshot is None and not persisted.entries and persisted.hard_state.term == 0
        return RawNode(self._config, rng, None if fresh else persisted)

    def start(self) -> None:
        self._running = True
        self._thread.start()

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

    # ---- the inbox (any thread) ----------------------------------------------------------------

    def _submit(self, event: _Event) -> None:
        if not self.running:
            raise RaftUnavailable(f"raft node {self._config.node_id} is not running", outcome_unknown=False)
        try:
            self._inbox.put_nowait(event)
        except queue.Full:
            raise RaftUnavailable("raft inbox full", overloaded=True) from None

    def deliver(self, message: Message) -> None:
        """A response that came back on an outgoing RPC; dropped when the node is busy (Raft resends)."""
        self.heard_at[message.sender] = time.monotonic()
        try:
            self._submit(_Step(message, None))
        except RaftUnavailable:
            pass

    def exchange(self, message: Message) -> Message | None:
        self.heard_at[message.sender] = time.monotonic()
        reply: Future[Message | None] = Future()
        self._submit(_Step(message, reply))
        try:
            return reply.result(timeout=self._options.reply_wait_s)
        except TimeoutError:
            return None

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

    # ---- the loop (driver thread) --------------------------------------------------------------

    def _run(self) -> None:
        tick_s = self._options.tick_s
        next_tick = time.monotonic() + tick_s
        try:
            while self._running:
                replies: list[tuple[Message, Future[Message | None]]] = []
                wait_s = 0.0 if self._raw.has_ready() else max(0.0, next_tick - time.monotonic())
                try:
                    event = self._inbox.get(timeout=wait_s)
                except queue.Empty:
                    event = None
                if event is not None:
                    self._handle(event, replies)
                    # Drain: everything already queued joins this Ready (one fsync, one APPEND per peer).
                    for _ in range(self._options.inbox_max):
                        try:
                            self._handle(self._inbox.get_nowait(), replies)
                        except queue.Empty:
                            break
                now = time.monotonic()
                if now >= next_tick:
                    # A stall (GC, SIGSTOP) is not replayed tick by tick: CheckQuorum and elections only
                    # need time to advance, and safety never depends on it.
                    elapsed_ticks = int((now - next_tick) / tick_s) + 1
                    for _ in range(min(elapsed_ticks, self._options.tick_catch_up_max)):
                        self._raw.tick()
                    next_tick += elapsed_ticks * tick_s
                self._process_readies(replies)
                self._maybe_compact()
                self.status = self._build_status()
        except BaseException as error:  # storage failure or a broken invariant: stop loudly, never limp on
            log.critical("raft driver failed; node stopped", exc_info=True,
                         extra={"node": self._config.node_id})
            self._fatal = error
            self._fail_everything(RaftUnavailable(f"raft node failed: {error!r}"))
        finally:
            self.status = self._build_status()

    def _handle(self, event: _Event, replies: list[tuple[Message, Future[Message | None]]]) -> None:
        if isinstance(event, _Step):
            self._raw.step(event.message)  # never raises: the core drops and counts bad peer input
            if event.reply is not None:
                replies.append((event.message, event.reply))
            return
        try:
            if isinstance(event, _Propose):
                term, index = self._raw.propose(event.data)
                # Indexes only grow within one leadership, and losing it fails every pending proposal.
                assert index not in self._proposals, f"index {index} proposed twice while leader"
                self._proposals[index] = _Pending(term, event.data, event.future)
            elif isinstance(event, _ReadIndex):
                self._raw.read_index(event.context)
                self._reads[event.context] = event.future
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

    def _process_readies(self, replies: list[tuple[Message, Future[Message | None]]]) -> None:
        for _ in range(READIES_PER_ITERATION_MAX):  # bounded, so the inbox and the ticker are never starved
            if not self._raw.has_ready():
                break
            ready = self._raw.ready()
            self._persist(ready)
            self._dispatch(ready.messages, replies)
            # Requests stepped before this Ready got their response in it, or have none.
            for _, reply in replies:
                if not reply.done():
                    reply.set_result(None)
            replies = []
            self._apply(ready)
            self._raw.advance(ready)
        for _, reply in replies:
            if not reply.done():
                reply.set_result(None)

    def _persist(self, ready: Ready) -> None:
        # Durable BEFORE any message leaves: votes, terms and acknowledged entries survive a crash.
        self._storage.persist(ready.hard_state, ready.entries, ready.snapshot)
        if ready.soft_state is not None:
            self._change_role(ready.soft_state.role, ready.soft_state.leader_id,
                              ready.hard_state.term if ready.hard_state is not None else self._raw.term)

    def _dispatch(self, messages: tuple[Message, ...],
                  replies: list[tuple[Message, Future[Message | None]]]) -> None:
        for message in messages:
            if message.type in wire.RESPONSE_TYPES:
                for position, (request, reply) in enumerate(replies):
                    if (request.sender == message.recipient and request.type in _ANSWERS[message.type]
                            and not reply.done()):
                        reply.set_result(message)
                        del replies[position]
                        break
                else:
                    self.dropped_responses += 1  # its RPC already returned: a lost message to Raft
            else:
                self._send(message)

    def _apply(self, ready: Ready) -> None:
        if ready.snapshot is None and not ready.committed_entries and not ready.read_states \
                and not ready.dropped_reads:
            return
        with self.applied_changed:
            if ready.snapshot is not None and ready.snapshot.index > self.applied:
                self._restore_snapshot(ready.snapshot)
            for entry in ready.committed_entries:
                if entry.index <= self.applied:
                    continue  # already covered by a snapshot
                self._apply_entry(entry)
            self.applied_changed.notify_all()
        for read in ready.read_states:
            future = self._reads.pop(read.context, None)
            if future is not None and not future.done():
                future.set_result(read.index)
        for context in ready.dropped_reads:
            future = self._reads.pop(context, None)
            if future is not None and not future.done():
                future.set_exception(self._not_leader(self._leader))

    def _restore_snapshot(self, snapshot: Snapshot) -> None:
        self._sm.restore(snapshot.data)
        self.applied, self._applied_term = snapshot.index, snapshot.term
        self._snapshot_index = snapshot.index
        for index in [i for i in self._proposals if i <= snapshot.index]:
            self._fail_proposal(index, "replaced by a snapshot; the command may or may not have committed")

    def _apply_entry(self, entry: Entry) -> None:
        assert entry.index == self.applied + 1, f"applying {entry.index} after {self.applied}: a gap"
        result: Any = None
        error: Exception | None = None
        if entry.kind is EntryKind.NORMAL:
            try:
                result = self._sm.apply(entry.index, entry.data)
            except Exception as raised:  # deterministic on every replica: the proposer gets the error
                log.exception("state machine rejected a command", extra={"index": entry.index})
                error = raised
        self.applied, self._applied_term = entry.index, entry.term
        pending = self._proposals.pop(entry.index, None)
        if pending is None or pending.future.done():
            return
        if pending.term != entry.term:
            # Another leader's entry took this index: our proposal was lost with our leadership.
            pending.future.set_exception(RaftUnavailable("leadership lost; the command was not committed",
                                                              outcome_unknown=False))
            return
        # Log Matching: one entry per (term, index). A proposer only ever gets its own entry's result.
        assert entry.kind is EntryKind.NORMAL and entry.data == pending.data, (
            f"entry {entry.index} of term {entry.term} is not the command proposed there")
        if error is not None:
            pending.future.set_exception(error)
        else:
            pending.future.set_result(result)

    def _change_role(self, role: Role, leader: str | None, term: int) -> None:
        was_leader = self._role is Role.LEADER
        changed = role is not self._role
        self._role, self._leader = role, leader
        if was_leader and role is not Role.LEADER:
            # Outcome unknown: a successor may still commit these entries. Fail fast so clients move on.
            for index in list(self._proposals):
                self._fail_proposal(index, "leadership lost; the command may or may not have committed")
            for context in list(self._reads):
                self._reads.pop(context).set_exception(self._not_leader(leader))
        if changed:
            # Status first: a listener told "leader in term t" checks status() and must not see the old role.
            self.status = self._build_status()
            self._on_role_change(role, term)

    def _fail_proposal(self, index: int, reason: str) -> None:
        pending = self._proposals.pop(index)
        if not pending.future.done():
            pending.future.set_exception(RaftUnavailable(reason))

    def _maybe_compact(self) -> None:
        if self.applied - self._snapshot_index < self._options.snapshot_every_entries:
            return
        with self.apply_lock:
            data = self._sm.snapshot()
        snapshot = Snapshot(index=self.applied, term=self._applied_term, data=data)
        # Snapshot stored and log prefix dropped in one transaction, then the core forgets the prefix too.
        self._storage.compact(snapshot)
        self._raw.compact(snapshot.index, snapshot.data)
        self._snapshot_index = snapshot.index
        log.info("raft log compacted", extra={"node": self._config.node_id, "index": snapshot.index,
                                              "snapshot_bytes": len(data)})

    def _fail_everything(self, error: RaftUnavailable) -> None:
        self._running = False
        for pending in self._proposals.values():
            if not pending.future.done():
                pending.future.set_exception(error)
        self._proposals.clear()
        for future in self._reads.values():
            if not future.done():
                future.set_exception(error)
        self._reads.clear()
        while True:
            try:
                event = self._inbox.get_nowait()
            except queue.Empty:
                break
            waiting: Future[Any] | None = event.reply if isinstance(event, _Step) else event.future
            if waiting is not None and not waiting.done():
                waiting.set_exception(error)
        with self.applied_changed:
            self.applied_changed.notify_all()

    def _build_status(self) -> RaftStatus:
        core = self._raw.status()
        self.match_index = dict(core.match_index)
        self.transfer_state = (core.role, core.transferee)
        return RaftStatus(
            node_id=self._config.node_id, role=core.role, term=core.term, leader_id=core.leader_id,
            leader_address=self._addresses.get(core.leader_id) if core.leader_id else None,
            commit_index=core.commit_index, applied_index=self.applied, last_index=core.last_index,
            snapshot_index=self._snapshot_index, log_entries=self._storage.entry_count,
            running=self.running)
