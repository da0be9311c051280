"""The Raft core's value types: entries, messages, persisted state, Ready, config and status.

These are the agreed contract between the pure core and the runtime that drives it; all immutable.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

NodeId = str

# Context carried by VOTE messages of a campaign started by TIMEOUT_NOW (leadership transfer):
# voters then skip the leader-lease check, as in etcd's campaignTransfer.
CAMPAIGN_TRANSFER_CONTEXT = b"campaign-transfer"


class Role(enum.Enum):
    FOLLOWER = "follower"
    PRE_CANDIDATE = "pre_candidate"
    CANDIDATE = "candidate"
    LEADER = "leader"


class CampaignReason(enum.Enum):
    """Why a node's latest campaign started (shown in the election history; never read by the protocol)."""

    TIMEOUT = "timeout"  # the election timer fired, PreVote off
    PRE_VOTE = "pre-vote"  # the election timer fired and a PreVote round won first
    TRANSFER = "transfer"  # TIMEOUT_NOW from the leader handing over


class EntryKind(enum.Enum):
    NORMAL = 0
    NOOP = 1  # appended by a new leader on election (Raft §8) so it can commit in its own term


@dataclass(frozen=True, slots=True)
class Entry:
    term: int
    index: int
    kind: EntryKind
    data: bytes


@dataclass(frozen=True, slots=True)
class HardState:
    term: int = 0
    vote: NodeId | None = None
    commit: int = 0


@dataclass(frozen=True, slots=True)
class Snapshot:
    index: int  # last log index the application state includes
    term: int  # term of the entry at `index`
    data: bytes  # application state at index


class MessageType(enum.Enum):
    PRE_VOTE = "pre_vote"
    PRE_VOTE_RESPONSE = "pre_vote_response"
    VOTE = "vote"
    VOTE_RESPONSE = "vote_response"
    APPEND = "append"  # a heartbeat is an APPEND with no entries
    APPEND_RESPONSE = "append_response"
    SNAPSHOT = "snapshot"
    SNAPSHOT_RESPONSE = "snapshot_response"
    TIMEOUT_NOW = "timeout_now"


@dataclass(frozen=True, slots=True)
class Message:
    type: MessageType
    sender: NodeId
    recipient: NodeId
    term: int
    # APPEND: previous log term/index; (PRE_)VOTE: last log term/index;
    # APPEND_RESPONSE: last index matched (accept) or the rejected previous index (reject);
    # SNAPSHOT_RESPONSE: the follower's last index after installing.
    log_term: int = 0
    index: int = 0
    entries: tuple[Entry, ...] = ()
    commit: int = 0
    reject: bool = False
    reject_hint: int = 0  # fast backtracking: the follower's hint index ...
    reject_term: int = 0  # ... and its term at that index (the conflicting term)
    snapshot: Snapshot | None = None
    context: bytes = b""  # read-index context echoed by heartbeats / responses; campaign kind on VOTE


@dataclass(frozen=True, slots=True)
class ReadState:
    index: int  # the read is safe to serve once applied >= index
    context: bytes


@dataclass(frozen=True, slots=True)
class SoftState:
    role: Role
    leader_id: NodeId | None


@dataclass(frozen=True, slots=True)
class PersistedState:
    hard_state: HardState
    snapshot: Snapshot | None
    entries: tuple[Entry, ...]  # contiguous, starting right after the snapshot (or at index 1)


@dataclass(frozen=True, slots=True)
class Ready:
    """What the runtime must do, in this order: persist, send, apply, then call advance().

    - soft_state: set when role or leader changed (not persisted).
    - hard_state: persist (fsync) before sending messages.
    - snapshot: received by InstallSnapshot. Persist it and REPLACE the whole log with it (drop every
      entry, those after its index too), then restore the state machine from it.
    - entries: append to the durable log; entries[0].index may overwrite a conflicting suffix
      (truncate from there first). They come after `snapshot` when both are set.
    - messages: send ONLY after hard_state, snapshot and entries are durable.
    - committed_entries: apply in order (NOOP entries are applied as no-ops).
    - read_states: linearizable reads that became safe (serve once applied >= index).
    - dropped_reads: contexts of read requests that can no longer be served — fail them fast.
    """

    soft_state: SoftState | None
    hard_state: HardState | None
    snapshot: Snapshot | None
    entries: tuple[Entry, ...]
    messages: tuple[Message, ...]
    committed_entries: tuple[Entry, ...]
    read_states: tuple[ReadState, ...]
    dropped_reads: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class Config:
    node_id: NodeId
    peers: tuple[NodeId, ...]  # every voter INCLUDING node_id; static membership
    election_ticks: int = 10  # randomised election timeout in [election_ticks, 2*election_ticks)
    heartbeat_ticks: int = 1
    pre_vote: bool = True
    check_quorum: bool = True
    entries_per_message_max: int = 512
    inflight_messages_max: int = 64  # pipelined APPENDs per follower before waiting for acks

    def __post_init__(self) -> None:
        if not isinstance(self.node_id, str) or not self.node_id:
            raise ValueError("Config.node_id must be a non-empty string")
        if self.node_id not in self.peers:
            raise ValueError(f"Config.peers {self.peers!r} must include node_id {self.node_id!r}")
        if len(set(self.peers)) != len(self.peers):
            raise ValueError(f"Config.peers has duplicates: {self.peers!r}")
        if self.heartbeat_ticks < 1:
            raise ValueError("Config.heartbeat_ticks must be >= 1")
        if self.election_ticks <= self.heartbeat_ticks:
            raise ValueError("Config.election_ticks must be greater than heartbeat_ticks")
        if self.entries_per_message_max < 1 or self.inflight_messages_max < 1:
            raise ValueError("Config.entries_per_message_max and inflight_messages_max must be >= 1")


@dataclass(frozen=True, slots=True)
class Status:
    node_id: NodeId
    role: Role
    term: int
    leader_id: NodeId | None
    commit_index: int
    applied_index: int
    last_index: int
    snapshot_index: int
    match_index: dict[NodeId, int]  # leader only, else {}
    dropped_messages: int = 0  # stale, malformed or unexpected peer messages dropped so far
    first_index: int = 1  # first log index still held (entries before it are in the snapshot)
    vote: NodeId | None = None
    transferee: NodeId | None = None  # leadership transfer target while one is in progress
    campaign: CampaignReason | None = None  # why this node's latest campaign started; None: it never campaigned
