"""The gateway's OpenTelemetry instruments: checkouts by outcome, checkout latency, checkouts in flight,
and the queue depth (an asynchronous gauge read at scrape time). No per-order label values.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from opentelemetry.metrics import CallbackOptions, Observation

from utils.telemetry import meter

log = logging.getLogger(__name__)
# OTel's default buckets are sized for milliseconds; ours are seconds, around the 25 ms checkout goal.
LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]


class GatewayMetrics:
    def __init__(self, queue_depth: Callable[[], int | None]) -> None:
        m = meter("orchestrator")
        self.checkouts = m.create_counter(
            "checkouts",
            unit="1",
            description="checkouts answered, by outcome (approved, rejected, invalid, unavailable, error)",
        )
        self.checkout_duration = m.create_histogram(
            "checkout_duration",
            unit="s",
            description="time to answer POST /checkout",
            explicit_bucket_boundaries_advisory=LATENCY_BUCKETS_S,
        )
        self.in_flight = m.create_up_down_counter(
            "checkouts_in_flight", unit="1", description="checkouts being answered"
        )
        self._queue_depth = queue_depth
        m.create_observable_gauge(
            "gateway_queue_depth",
            callbacks=[self._observe_queue_depth],
            unit="1",
            description="orders waiting or leased in the order queue, as the gateway sees it",
        )

    def _observe_queue_depth(self, _options: CallbackOptions) -> Iterable[Observation]:
        try:
            depth = self._queue_depth()
        except Exception:  # a scrape must never fail because the queue is down
            log.debug("queue depth unavailable", exc_info=True)
            return []
        return [] if depth is None else [Observation(depth)]
