"""The order queue's own settings (env prefix ORDER_QUEUE_): bounds, lease limit, aging rate.

Read once in main(); the address comes from FleetSettings.order_queue_addr.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class OrderQueueSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORDER_QUEUE_", extra="ignore", frozen=True)

    depth_max: int = Field(default=10_000, ge=1)  # waiting + leased orders; beyond → RESOURCE_EXHAUSTED
    final_records_max: int = Field(default=100_000, ge=1)  # finished orders kept for GET /orders
    lease_s_max: float = Field(default=300.0, gt=0)  # longest lease a worker may ask for
    aging_points_per_s: float = Field(default=1.0, gt=0)  # priority gained per second of waiting
    lease_batch_max: int = Field(default=32, ge=1)  # orders one LeaseBatch call may take
    # A LeaseBatch that finds nothing waits at most this long for an order (a waiting caller holds a gRPC thread,
    # so at most lease_waiters_max wait at once; an expired lease is noticed at the latest when a wait ends).
    lease_wait_s_max: float = Field(default=1.0, ge=0, le=10.0)
    lease_waiters_max: int = Field(default=4, ge=0)
    ack_batch_max: int = Field(default=64, ge=1)  # acks one AckBatch call may carry (one commit for all)
    # Personal data (name, contact, billing address) is erased from an order this long after it was enqueued
    # (docs/operations.md); the purge runs every retention_scan_s.
    personal_data_retention_s: float = Field(default=7 * 24 * 3600.0, gt=0)
    retention_scan_s: float = Field(default=60.0, gt=0)
