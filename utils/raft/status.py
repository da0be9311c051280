"""A replica's externally visible state: what `RaftNode.status()` and the Status RPC report.

Published by the driver (rebuilt on an identity change or once a tick, indexes every turn): reads never wait.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from utils.raft.core import EntryKind, Role
from utils.raft.core.elections import ElectionRecord

LOG_TAIL_MAX = 64  # entries of the log's tail a status carries, for drawing the log (the Cluster tab)
ELECTIONS_MAX = 16  # elections a node remembers


@dataclass(frozen=True, slots=True)
class TailEntry:
    index: int
    term: int
    kind: EntryKind


@dataclass(frozen=True, slots=True)
class RaftStatus:
    node_id: str
    role: Role
    term: int
    leader_id: str | None
    leader_address: str | None
    commit_index: int
    applied_index: int
    last_index: int
    snapshot_index: int
    log_entries: int  # entries retained in the durable log (after compaction)
    running: bool = True
    # Transport counters since start (this node's outgoing peer RPCs), for metrics and benchmarks.
    peer_rpcs_sent: int = 0
    peer_rpcs_failed: int = 0
    messages_shed: int = 0  # dropped from full send queues or superseded by a later APPEND
    # Added for RaftNode.stop()'s transfer (leader only, else empty / None) and for drop accounting.
    match_index: Mapping[str, int] = field(default_factory=dict)  # highest log index known replicated per peer
    transferee: str | None = None  # leadership transfer target while one is in progress
    peer_heard_at_s: Mapping[str, float] = field(default_factory=dict)  # time.monotonic() a peer last spoke
    dropped_by_reason: Mapping[str, int] = field(default_factory=dict)  # peer messages dropped, by DropReason
    inbox_queued: int = 0  # events waiting in the driver's inbox when status() was called (live)
    # For drawing the replica (the Cluster tab): the log's last LOG_TAIL_MAX entries and the elections it saw.
    log_tail: tuple[TailEntry, ...] = ()
    elections: tuple[ElectionRecord, ...] = ()
