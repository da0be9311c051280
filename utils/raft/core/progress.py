"""The leader's view of one follower (etcd's Progress): match/next, probe vs replicate, inflights.

It decides when the leader may send that follower more entries and how far back to probe.
"""

from __future__ import annotations

import enum
from collections import deque


class ProgressState(enum.Enum):
    PROBE = "probe"  # one APPEND at a time until the follower's match point is found
    REPLICATE = "replicate"  # optimistic pipelining, bounded by the inflight window
    SNAPSHOT = "snapshot"  # a SNAPSHOT is on its way; nothing else is sent until answered


class Progress:
    __slots__ = (
        "match",
        "next",
        "state",
        "probe_sent",
        "inflights",
        "inflight_max",
        "pending_snapshot",
        "recent_active",
        "stalled_ticks",
        "idle_ticks",
    )

    def __init__(self, next_index: int, inflight_max: int) -> None:
        self.match = 0
        self.next = next_index
        self.state = ProgressState.PROBE
        self.probe_sent = False
        self.inflights: deque[int] = deque()  # last index of each unacknowledged APPEND
        self.inflight_max = inflight_max
        self.pending_snapshot = 0
        self.recent_active = False  # heard from since the last CheckQuorum round
        self.stalled_ticks = 0  # ticks without progress while entries are outstanding
        self.idle_ticks = 0  # leader ticks since we last sent this follower an APPEND or SNAPSHOT

    def __repr__(self) -> str:
        return (
            f"Progress(match={self.match}, next={self.next}, state={self.state.value}, "
            f"probe_sent={self.probe_sent}, inflights={len(self.inflights)})"
        )

    def become_probe(self) -> None:
        # After a snapshot, probing resumes right after it; otherwise right after the match.
        if self.state is ProgressState.SNAPSHOT:
            self.next = max(self.match + 1, self.pending_snapshot + 1)
        else:
            self.next = self.match + 1
        self.state = ProgressState.PROBE
        self.probe_sent = False
        self.pending_snapshot = 0
        self.inflights.clear()
        self.stalled_ticks = 0

    def become_replicate(self) -> None:
        self.state = ProgressState.REPLICATE
        self.next = self.match + 1
        self.probe_sent = False
        self.pending_snapshot = 0
        self.inflights.clear()
        self.stalled_ticks = 0

    def become_snapshot(self, snapshot_index: int) -> None:
        self.state = ProgressState.SNAPSHOT
        self.pending_snapshot = snapshot_index
        self.probe_sent = False
        self.inflights.clear()
        self.stalled_ticks = 0

    def maybe_update(self, index: int) -> bool:
        """An acknowledgement up to `index`; True when the match advanced."""
        updated = index > self.match
        if updated:
            self.match = index
            self.probe_sent = False
            self.stalled_ticks = 0
        self.next = max(self.next, index + 1)
        return updated

    def maybe_decrease_to(self, rejected: int, match_hint: int) -> bool:
        """A rejection of the APPEND whose previous index was `rejected`; False when it is stale."""
        if self.state is ProgressState.REPLICATE:
            if rejected <= self.match:
                return False  # an answer to an APPEND older than what was acknowledged since
            self.next = self.match + 1
            return True
        if self.next - 1 != rejected:
            return False  # not the answer to the probe in flight
        self.next = max(min(rejected, match_hint + 1), self.match + 1)
        self.probe_sent = False
        return True

    def sent_entries(self, last_index: int) -> None:
        """Records an APPEND carrying entries up to `last_index`."""
        if self.state is ProgressState.REPLICATE:
            self.next = last_index + 1
            self.inflights.append(last_index)
        elif self.state is ProgressState.PROBE:
            self.probe_sent = True
        else:
            raise AssertionError(f"sent entries in state {self.state}")

    def free_inflights_to(self, index: int) -> None:
        inflights = self.inflights
        while inflights and inflights[0] <= index:
            inflights.popleft()

    def is_paused(self) -> bool:
        if self.state is ProgressState.PROBE:
            return self.probe_sent
        if self.state is ProgressState.REPLICATE:
            return len(self.inflights) >= self.inflight_max
        return True
