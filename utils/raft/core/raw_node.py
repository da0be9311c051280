"""RawNode: the runtime's handle on one Raft node — inputs in, a Ready of outputs, advance().

It decides what each Ready holds and enforces the Ready/advance handshake; persistence order
(persist, then send, then apply, then advance) is the runtime's part of the protocol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from utils.raft.core import leader
from utils.raft.core.raft import Raft
from utils.raft.core.types import (
    Config,
    Entry,
    HardState,
    Message,
    NodeId,
    PersistedState,
    Ready,
    Role,
    SoftState,
    Status,
)

if TYPE_CHECKING:
    from random import Random  # the injected generator's type only; no global randomness


class RawNode:
    def __init__(self, config: Config, rng: Random, restored: PersistedState | None = None) -> None:
        self._raft = Raft(config, rng, restored)
        self._previous_soft = SoftState(Role.FOLLOWER, None)
        self._previous_hard = restored.hard_state if restored is not None else HardState()
        self._outstanding: Ready | None = None

    # --- read-only properties ----------------------------------------------------------------------
    @property
    def role(self) -> Role:
        return self._raft.role

    @property
    def term(self) -> int:
        return self._raft.term

    @property
    def leader(self) -> NodeId | None:
        return self._raft.leader

    @property
    def node_id(self) -> NodeId:
        return self._raft.id

    @property
    def dropped_messages(self) -> int:
        return self._raft.dropped_messages

    @property
    def commit_index(self) -> int:
        return self._raft.log.committed

    @property
    def last_index(self) -> int:
        return self._raft.log.last_index

    def identity(self) -> tuple[object, ...]:
        """Who this node is to the group right now (role, term, leader, vote, transferee, campaign): compared
        after every loop turn, so a runtime rebuilds its full status only when one of them moved."""
        r = self._raft
        return (r.role, r.term, r.leader, r.vote, r.transferee, r.campaign_reason)

    # --- inputs --------------------------------------------------------------------------------------
    def tick(self) -> None:
        self._raft.tick()

    def step(self, message: Message) -> None:
        """Feeds a peer's message; stale or malformed input is dropped and counted, never raised."""
        self._raft.step(message)

    def propose(self, data: bytes) -> tuple[int, int]:
        """Appends a command; it is committed iff an entry with this (term, index) is later applied."""
        return leader.propose(self._raft, data)

    def read_index(self, context: bytes) -> None:
        """Asks for a linearizable read; ReadState(context) comes in a later Ready."""
        leader.read_index(self._raft, context)

    def transfer_leadership(self, target: NodeId) -> None:
        leader.transfer_leadership(self._raft, target)

    def compact(self, index: int, data: bytes) -> None:
        """The application snapshotted its state at applied index `index`; drop the log up to it."""
        log = self._raft.log
        if not isinstance(data, bytes):
            raise TypeError("compact() takes the snapshot data as bytes")
        if index > log.applied:
            raise ValueError(f"cannot compact to {index}: only {log.applied} is applied")
        log.compact(index, data)

    # --- outputs -------------------------------------------------------------------------------------
    def has_ready(self) -> bool:
        """True when ready() has something to hand out (False until the previous one is advanced)."""
        if self._outstanding is not None:
            return False
        r = self._raft
        log = r.log
        if r.role is Role.LEADER and (r.broadcast_pending or r.read_heartbeat_pending):
            return True
        if r.messages or r.read_states or r.dropped_reads or log.pending_snapshot is not None:
            return True
        if log.stabled < log.last_index or log.committed > max(log.applied, log.offset):
            return True
        soft, hard = self._previous_soft, self._previous_hard
        return (
            r.role is not soft.role
            or r.leader != soft.leader_id
            or r.term != hard.term
            or r.vote != hard.vote
            or log.committed != hard.commit
        )

    def ready(self) -> Ready:
        """The outputs accumulated so far; call advance(ready) once they are handled."""
        if self._outstanding is not None:
            raise RuntimeError("ready() called again before advance() of the previous Ready")
        r = self._raft
        leader.flush(r)
        log = r.log
        soft = SoftState(r.role, r.leader)
        hard = r.hard_state()
        ready = Ready(
            soft_state=soft if soft != self._previous_soft else None,
            hard_state=hard if hard != self._previous_hard else None,
            snapshot=log.pending_snapshot,
            entries=log.unstable_entries(),
            messages=tuple(r.messages),
            committed_entries=log.next_committed_entries(),
            read_states=tuple(r.read_states),
            dropped_reads=tuple(r.dropped_reads),
        )
        self._previous_soft = soft
        self._previous_hard = hard
        r.messages = []
        r.read_states = []
        r.dropped_reads = []
        self._outstanding = ready
        return ready

    def advance(self, ready: Ready) -> None:
        """The runtime has persisted, sent and applied everything in `ready`."""
        if ready is not self._outstanding:
            raise RuntimeError("advance() must be given the Ready last returned by ready()")
        log = self._raft.log
        if ready.snapshot is not None:
            log.snapshot_persisted(ready.snapshot)
        if ready.entries:
            log.stable_to(ready.entries)
        if ready.committed_entries:
            log.applied_to(ready.committed_entries[-1].index)
        self._outstanding = None

    def check_invariants(self) -> None:
        """Asserts the core's internal invariants without changing anything (tests and the simulator)."""
        self._raft.check_invariants()

    def status(self) -> Status:
        r = self._raft
        log = r.log
        return Status(
            node_id=r.id,
            role=r.role,
            term=r.term,
            leader_id=r.leader,
            commit_index=log.committed,
            applied_index=log.applied,
            last_index=log.last_index,
            snapshot_index=log.offset,
            match_index=r.match_index(),
            dropped_messages=r.dropped_messages,
            first_index=log.first_index,
            vote=r.vote,
            transferee=r.transferee,
            campaign=r.campaign_reason,
        )

    def log_tail(self, count: int) -> tuple[Entry, ...]:
        """The last `count` entries still held (fewer after compaction), oldest first: for the status only."""
        log = self._raft.log
        low = max(log.first_index, log.last_index - count + 1)
        return log.slice(low, log.last_index) if low <= log.last_index else ()
