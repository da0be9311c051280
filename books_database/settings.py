"""The books database's own settings (on top of FleetSettings and RuntimeSettings), read once in main().

Raft timing defaults come from utils.raft.RaftOptions; these override them for this group only.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from utils.raft.options import RaftOptions


class BooksDatabaseSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    # The longest a read or write waits for Raft when the caller's own deadline is longer (or absent).
    books_request_timeout_s: float = Field(default=3.0, gt=0)
    books_raft_tick_ms: int = Field(default=50, gt=0)
    books_raft_heartbeat_ticks: int = Field(default=2, gt=0)
    books_raft_election_ticks: int = Field(default=10, gt=0)
    books_snapshot_every_entries: int = Field(default=10_000, gt=0)
    books_health_poll_s: float = Field(default=0.1, gt=0)  # how often health re-checks that a primary is known
    # Cooperative termination (as the payment service's): a transaction PREPARED this long on the primary asks the
    # executor group for its decision, every interval, backing off per transaction up to backoff_max.
    books_termination_after_s: float = Field(default=3.0, gt=0)
    books_termination_interval_s: float = Field(default=0.5, gt=0)
    books_termination_backoff_max_s: float = Field(default=5.0, gt=0)
    books_termination_batch_max: int = Field(default=100, gt=0)

    def raft_options(self) -> RaftOptions:
        return RaftOptions(
            tick_ms=self.books_raft_tick_ms,
            heartbeat_ticks=self.books_raft_heartbeat_ticks,
            election_ticks=self.books_raft_election_ticks,
            snapshot_every_entries=self.books_snapshot_every_entries,
        )
