"""The pure Raft core: election, replication, PreVote, CheckQuorum, ReadIndex, transfer, snapshots.

No I/O, threads, clocks or global randomness: the runtime feeds ticks and messages into a RawNode
and carries out each Ready (persist, send, apply, advance).
"""

from utils.raft.core.raw_node import RawNode
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
    Ready,
    Role,
    Snapshot,
    SoftState,
    Status,
)

__all__ = [
    "CAMPAIGN_TRANSFER_CONTEXT",
    "CampaignReason",
    "Config",
    "Entry",
    "EntryKind",
    "HardState",
    "Message",
    "MessageType",
    "NodeId",
    "PersistedState",
    "RawNode",
    "ReadState",
    "Ready",
    "Role",
    "Snapshot",
    "SoftState",
    "Status",
]
