"""One node's Raft state machine: roles, terms, timers, and the dispatch of peer messages.

It decides term changes (Raft §5.1, with PreVote and the leader lease), role transitions and who
handles what; election.py, leader.py and follower.py hold the per-role rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from utils.raft.core import election, follower, leader, replication
from utils.raft.core.log import RaftLog
from utils.raft.core.progress import Progress, ProgressState
from utils.raft.core.quorum import quorum_size
from utils.raft.core.read_only import ReadOnlyQueue
from utils.raft.core.types import (
    CAMPAIGN_TRANSFER_CONTEXT,
    CampaignReason,
    Config,
    Entry,
    EntryKind,
    HardState,
    Message,
    MessageType,
    NodeId,
    PersistedState,
    ReadState,
    Role,
)
from utils.raft.core.validate import malformed_reason

_VOTE_REQUESTS = (MessageType.VOTE, MessageType.PRE_VOTE)

if TYPE_CHECKING:
    from random import Random  # the injected generator's type only; no global randomness


class Raft:
    def __init__(self, config: Config, rng: Random, restored: PersistedState | None = None) -> None:
        self.config = config
        self.id: NodeId = config.node_id
        self.voters: tuple[NodeId, ...] = tuple(sorted(config.peers))  # sorted: determinism
        self.others: tuple[NodeId, ...] = tuple(p for p in self.voters if p != self.id)
        self.peer_set = frozenset(self.voters)
        self.quorum = quorum_size(len(self.voters))
        self.rng = rng
        hard_state = restored.hard_state if restored is not None else HardState()
        if hard_state.vote is not None and hard_state.vote not in self.peer_set:
            raise ValueError(f"restored vote {hard_state.vote!r} is not a voter")
        if restored is not None:
            self.log = RaftLog(restored.snapshot, restored.entries, hard_state.commit)
        else:
            self.log = RaftLog()
        self.term = hard_state.term
        self.vote: NodeId | None = hard_state.vote
        self.role = Role.FOLLOWER
        self.leader: NodeId | None = None
        self.progress: dict[NodeId, Progress] = {}
        self.votes: dict[NodeId, bool] = {}
        self.messages: list[Message] = []
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self.randomized_election_ticks = config.election_ticks
        self.transferee: NodeId | None = None
        self.campaign_reason: CampaignReason | None = None  # for the status only: why the latest campaign began
        self.read_only = ReadOnlyQueue()
        self.reads_awaiting_commit: list[bytes] = []  # until the leader commits in its term
        self.read_states: list[ReadState] = []
        self.dropped_reads: list[bytes] = []
        self.dropped_messages = 0
        self.broadcast_pending = False  # proposals appended since the last flush
        self.read_heartbeat_pending = False  # read requests waiting for a heartbeat round
        self.replicate_stall_ticks_max = max(2 * config.heartbeat_ticks, config.election_ticks // 2)
        self.snapshot_stall_ticks_max = 2 * config.election_ticks
        self._reset_randomized_election_timeout()

    # --- helpers ---------------------------------------------------------------------------------
    def hard_state(self) -> HardState:
        return HardState(term=self.term, vote=self.vote, commit=self.log.committed)

    def send(self, message_type: MessageType, to: NodeId, **fields: object) -> None:
        term = fields.pop("term", self.term)
        self.messages.append(Message(message_type, self.id, to, term, **fields))  # type: ignore[arg-type]

    def drop(self, reason: str) -> None:
        # A core has no logger; the count is the observable trace (Status.dropped_messages).
        del reason
        self.dropped_messages += 1

    def _reset_randomized_election_timeout(self) -> None:
        ticks = self.config.election_ticks
        self.randomized_election_ticks = self.rng.randrange(ticks, 2 * ticks)

    def in_leader_lease(self) -> bool:
        """etcd's lease check: heard from a live leader within the election timeout."""
        return (
            self.config.check_quorum and self.leader is not None and self.election_elapsed < self.config.election_ticks
        )

    # --- role transitions ------------------------------------------------------------------------
    def _reset(self, term: int) -> None:
        if term != self.term:
            assert term > self.term, (term, self.term)
            self.term = term
            self.vote = None
        self.leader = None
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self._reset_randomized_election_timeout()
        self.transferee = None
        self.votes = {}
        self.progress = {}
        self.broadcast_pending = False
        self.read_heartbeat_pending = False
        # Reads accepted while leader can no longer be confirmed: fail them fast.
        self.dropped_reads.extend(self.read_only.drain())
        self.dropped_reads.extend(self.reads_awaiting_commit)
        self.reads_awaiting_commit = []

    def become_follower(self, term: int, leader_id: NodeId | None) -> None:
        self._reset(term)
        self.role = Role.FOLLOWER
        self.leader = leader_id

    def become_pre_candidate(self) -> None:
        assert self.role is not Role.LEADER
        # PreVote: neither the term nor the vote changes, so a failed pre-campaign disrupts nobody.
        self.role = Role.PRE_CANDIDATE
        self.leader = None
        self.votes = {}

    def become_candidate(self) -> None:
        assert self.role is not Role.LEADER
        self._reset(self.term + 1)
        self.role = Role.CANDIDATE
        self.vote = self.id

    def become_leader(self) -> None:
        assert self.role is Role.CANDIDATE, self.role
        self._reset(self.term)
        self.role = Role.LEADER
        self.leader = self.id
        next_index = self.log.last_index + 1
        inflight_max = self.config.inflight_messages_max
        self.progress = {p: Progress(next_index, inflight_max) for p in self.voters}
        own = self.progress[self.id]
        own.maybe_update(self.log.last_index)
        own.become_replicate()
        # Raft §8: a NOOP of the new term lets earlier entries commit (§5.4.2) and ReadIndex start.
        self.append_entries([Entry(self.term, next_index, EntryKind.NOOP, b"")])
        replication.broadcast_append(self)

    def append_entries(self, entries: list[Entry]) -> None:
        assert self.role is Role.LEADER
        self.log.append(entries)
        self.progress[self.id].maybe_update(self.log.last_index)
        replication.maybe_commit(self)  # a single voter commits on its own

    # --- inputs ----------------------------------------------------------------------------------
    def tick(self) -> None:
        if self.role is Role.LEADER:
            leader.tick(self)
            return
        self.election_elapsed += 1
        if self.election_elapsed >= self.randomized_election_ticks:
            self.election_elapsed = 0
            election.hup(self, transfer=False)

    def step(self, m: Message) -> None:
        reason = malformed_reason(m, self.id, self.peer_set)
        if reason is not None:
            self.drop(reason)
            return
        if m.term > self.term:
            if not self._step_higher_term(m):
                return
        elif m.term < self.term:
            self._step_lower_term(m)
            return
        if m.type in _VOTE_REQUESTS:
            election.handle_vote_request(self, m)
        elif self.role is Role.LEADER:
            self._step_leader(m)
        elif self.role is Role.FOLLOWER:
            self._step_follower(m)
        else:
            self._step_candidate(m)

    def _step_higher_term(self, m: Message) -> bool:
        """Raft §5.1: a higher term makes us a follower — except PreVote and the leader lease."""
        if m.type in _VOTE_REQUESTS:
            forced = m.context == CAMPAIGN_TRANSFER_CONTEXT
            if not forced and self.in_leader_lease():
                # A node that heard from a leader within the election timeout refuses (pre-)votes.
                self.drop("vote request inside the leader lease")
                return False
        if m.type is MessageType.PRE_VOTE:
            return True  # answered without changing our term
        if m.type is MessageType.PRE_VOTE_RESPONSE and not m.reject:
            return True  # a granted pre-vote carries the future term; counted, term kept
        if m.type in (MessageType.APPEND, MessageType.SNAPSHOT):
            self.become_follower(m.term, m.sender)
        else:
            self.become_follower(m.term, None)
        return True

    def _step_lower_term(self, m: Message) -> None:
        if m.type is MessageType.APPEND and (self.config.check_quorum or self.config.pre_vote):
            # The sender is a stale leader that may never see our higher term otherwise (we may
            # not vote for it and PreVote does not bump terms): answer so it steps down.
            self.send(MessageType.APPEND_RESPONSE, m.sender, reject=True)
        elif m.type is MessageType.PRE_VOTE:
            self.send(MessageType.PRE_VOTE_RESPONSE, m.sender, reject=True)
        else:
            self.drop("stale term")

    def _step_leader(self, m: Message) -> None:
        if m.type is MessageType.APPEND_RESPONSE:
            replication.handle_append_response(self, m)
        elif m.type is MessageType.SNAPSHOT_RESPONSE:
            replication.handle_snapshot_response(self, m)
        else:
            self.drop(f"{m.type.value} unexpected by a leader")

    def _step_follower(self, m: Message) -> None:
        if m.type is MessageType.APPEND:
            self.election_elapsed = 0
            self.leader = m.sender
            follower.handle_append(self, m)
        elif m.type is MessageType.SNAPSHOT:
            self.election_elapsed = 0
            self.leader = m.sender
            follower.handle_snapshot(self, m)
        elif m.type is MessageType.TIMEOUT_NOW:
            # Leadership transfer: campaign at once, skipping PreVote and the lease.
            election.hup(self, transfer=True)
        else:
            self.drop(f"{m.type.value} unexpected by a follower")

    def _step_candidate(self, m: Message) -> None:
        if m.type in (MessageType.APPEND, MessageType.SNAPSHOT):
            # A leader of our term exists (Raft §5.2): step down and follow it.
            self.become_follower(m.term, m.sender)
            self._step_follower(m)
        elif (m.type is MessageType.VOTE_RESPONSE and self.role is Role.CANDIDATE) or (
            m.type is MessageType.PRE_VOTE_RESPONSE and self.role is Role.PRE_CANDIDATE
        ):
            election.handle_vote_response(self, m)
        else:
            self.drop(f"{m.type.value} unexpected by a {self.role.value}")

    # --- observing ---------------------------------------------------------------------------------
    def match_index(self) -> dict[NodeId, int]:
        if self.role is not Role.LEADER:
            return {}
        return {p: self.progress[p].match for p in self.voters}

    def check_invariants(self) -> None:
        log = self.log
        assert log.offset <= log.committed <= log.last_index, (log.offset, log.committed, log.last_index)
        assert log.applied <= log.committed
        assert log.stabled <= log.last_index
        if self.role is Role.LEADER:
            assert self.leader == self.id and self.vote == self.id
            for p, pr in self.progress.items():
                assert pr.match <= log.last_index and pr.match < pr.next, (p, pr)
                assert pr.state is not ProgressState.SNAPSHOT or pr.pending_snapshot > 0
