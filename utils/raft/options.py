"""Runtime options of a Raft node: timing, batching and every bound, with their units.

Defaults elect a new leader in well under a second on a quiet machine and stay quiet when idle.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from utils.raft.core import Config, NodeId


@dataclass(frozen=True, slots=True)
class RaftOptions:
    # Timing. A tick is the core's unit of time; the driver converts wall time into ticks.
    # The fields named in _CORE_FIELDS are the core Config's own: core_config() hands them over, and the
    # Config validates them; they live here flat so a service sets every option in one place.
    tick_ms: int = 50
    heartbeat_ticks: int = 2  # 100 ms: ~10 heartbeats/s per follower when idle
    election_ticks: int = 10  # election timeout randomised in [500, 1000) ms
    tick_catch_up_max: int = 4  # after a stall (GC, SIGSTOP), at most this many ticks at once
    # Protocol switches (PreVote and CheckQuorum are required by the design; off only for experiments).
    pre_vote: bool = True
    check_quorum: bool = True
    # Batching and bounds.
    entries_per_message_max: int = 512
    inflight_messages_max: int = 64
    inbox_max: int = 4096  # queued proposals, reads and peer messages; full → RaftUnavailable
    send_queue_max: int = 256  # per peer; full → drop the oldest heartbeat (or oldest message)
    coalesced_entries_max: int = 2048  # contiguous APPENDs to one peer merged into one RPC, up to this
    coalesced_bytes_max: int = 1024 * 1024  # ... and this much entry data (gRPC servers take 4 MiB by default)
    empty_append_hold_ms: int = 5  # an empty APPEND (heartbeat) waits this long to be superseded
    snapshot_every_entries: int = 10_000
    # Deadlines.
    propose_timeout_s: float = 5.0
    read_timeout_s: float = 5.0
    rpc_timeout_s: float = 1.0  # each peer RPC (vote, append, timeout-now)
    snapshot_rpc_timeout_s: float = 10.0
    reply_wait_s: float = 0.5  # a peer RPC handler waits this long for the driver's response
    transfer_timeout_s: float = 2.0  # graceful stop waits this long for the new leader
    stop_timeout_s: float = 5.0
    # gRPC message limit on peer channels and on a Raft server's port, both ways: a snapshot goes whole in one message.
    message_bytes_max: int = 16 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.tick_ms <= 0 or self.heartbeat_ticks <= 0:
            raise ValueError("tick_ms and heartbeat_ticks must be positive")
        self.core_config("check", ("check",))  # the core's own fields, checked by the core's own rules
        if (
            min(
                self.inbox_max,
                self.send_queue_max,
                self.snapshot_every_entries,
                self.coalesced_entries_max,
                self.coalesced_bytes_max,
                self.tick_catch_up_max,
            )
            <= 0
        ):
            raise ValueError("every bound must be positive")
        if self.reply_wait_s >= self.rpc_timeout_s:
            raise ValueError("reply_wait_s must be shorter than rpc_timeout_s, or the caller gives up first")
        if not 0 <= self.empty_append_hold_ms < self.heartbeat_ticks * self.tick_ms:
            raise ValueError("empty_append_hold_ms must be shorter than the heartbeat interval")
        if (
            min(
                self.propose_timeout_s,
                self.read_timeout_s,
                self.rpc_timeout_s,
                self.snapshot_rpc_timeout_s,
                self.reply_wait_s,
                self.transfer_timeout_s,
                self.stop_timeout_s,
            )
            <= 0
        ):
            raise ValueError("every timeout must be positive")

    @property
    def tick_s(self) -> float:
        return self.tick_ms / 1000.0

    def core_config(self, node_id: NodeId, peers: tuple[NodeId, ...]) -> Config:
        """The core's Config for this node: its identity and group, plus this object's protocol fields."""
        return Config(node_id=node_id, peers=peers, **{name: getattr(self, name) for name in _CORE_FIELDS})


# Every Config field but the node's identity and group: the one list of what RaftOptions passes to the core.
_CORE_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Config) if f.name not in ("node_id", "peers"))
assert set(_CORE_FIELDS) <= {f.name for f in dataclasses.fields(RaftOptions)}, "RaftOptions misses a Config field"
