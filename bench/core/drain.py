"""What a load spike did to the order queue, from depth samples over time: the peak, whether the depth bound was
reached, and how long the backlog took to drain back after the spike ended.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DepthSample:
    at_s: float  # seconds since the run started
    depth: int  # orders waiting or leased


@dataclass(frozen=True, slots=True)
class Drain:
    peak: int
    peak_at_s: float
    bound_reached: bool  # some sample at or above the queue's depth_max
    drained_after_s: float  # from the spike's end until depth ≤ the baseline again (inf: not within the samples)
    drained_after_peak_s: float  # from the peak until depth ≤ the baseline again (inf: likewise)
    drain_rate_per_s: float  # orders the backlog lost per second while draining (0 when it never drained)


def drain(samples: Sequence[DepthSample], spike_end_s: float, baseline: int, depth_max: int) -> Drain:
    """`baseline`: the depth counted as drained (the steady state's usual depth, e.g. its p90)."""
    if not samples:
        return Drain(0, 0.0, False, math.inf, math.inf, 0.0)
    peak_sample = max(samples, key=lambda s: s.depth)
    at_end = [s for s in samples if s.at_s >= spike_end_s]
    drained_at = next((s.at_s for s in at_end if s.depth <= baseline), math.inf)
    drained_after = drained_at - spike_end_s if at_end else math.inf
    start_depth = at_end[0].depth if at_end else peak_sample.depth
    after_peak = next((s.at_s for s in samples if s.at_s > peak_sample.at_s and s.depth <= baseline), math.inf)
    rate = (start_depth - baseline) / drained_after if 0 < drained_after < math.inf else 0.0
    return Drain(
        peak=peak_sample.depth,
        peak_at_s=peak_sample.at_s,
        bound_reached=any(s.depth >= depth_max for s in samples),
        drained_after_s=drained_after,
        drained_after_peak_s=after_peak - peak_sample.at_s,
        drain_rate_per_s=max(0.0, rate),
    )


def percentile_int(values: Sequence[int], fraction: float) -> int:
    if not values:
        return 0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
