"""The order executor's own settings: concurrency, leases, 2PC deadlines, and crash injection (off by default).

Read once in main(); every variable is the field name in upper case.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ExecutorSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    executor_concurrency_max: int = Field(default=8, ge=1)  # transactions the leader runs at once
    executor_lease_s: float = Field(default=4.0, gt=0)  # an unacked order returns to the queue after this
    # An idle leader's LeaseBatch waits this long at the queue for an order (at most the queue's lease_wait_s_max).
    executor_lease_wait_s: float = Field(default=1.0, ge=0)
    executor_prepare_timeout_s: float = Field(default=2.0, gt=0)  # a vote missing after this → ABORT
    executor_phase2_attempt_timeout_s: float = Field(default=2.0, gt=0)
    executor_phase2_backoff_max_s: float = Field(default=2.0, gt=0)
    executor_log_timeout_s: float = Field(default=3.0, gt=0)  # one proposal to the group's Raft log
    # Fault injection: stop the coordinator at one point of 2PC, once per data folder.
    executor_crash_at: Literal["", "after_prepare", "after_decision", "during_phase2"] = ""
    executor_crash_signal: Literal["SIGKILL", "SIGSTOP"] = "SIGKILL"
