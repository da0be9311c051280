"""The validation services' own settings: how many orders they keep, for how long, and their event workers.

Read once in main() from FLOW_* variables; defaults suit the local fleet.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from utils.flow.node import FlowLimits
from utils.settings import RuntimeSettings


class FlowSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLOW_", extra="ignore", frozen=True)

    orders_max: int = Field(default=10_000, ge=1)  # FLOW_ORDERS_MAX
    order_ttl_s: float = Field(default=60.0, gt=0)  # FLOW_ORDER_TTL_S
    held_per_order_max: int = Field(default=4, ge=1)  # FLOW_HELD_PER_ORDER_MAX
    trace_records_per_order_max: int = Field(default=16, ge=1)  # FLOW_TRACE_RECORDS_PER_ORDER_MAX (docs/drawings.md)
    workers_max: int = Field(default=8, ge=1)  # FLOW_WORKERS_MAX

    def limits(self, runtime: RuntimeSettings) -> FlowLimits:
        return FlowLimits(
            orders_max=self.orders_max,
            order_ttl_s=self.order_ttl_s,
            held_per_order_max=self.held_per_order_max,
            workers_max=self.workers_max,
            trace_records_per_order_max=self.trace_records_per_order_max,
            rpc_timeout_s=runtime.rpc_timeout_s,
        )
