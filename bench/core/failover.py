"""Failover figures from timestamps: the longest pause the stream of commits (or of 200s) saw around the moment
a leader was killed, the outage as the shoppers and the ledgers saw it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def longest_pause(times: Iterable[float], killed_at: float, window_s: float) -> float:
    """The longest gap between consecutive events that ends after the kill and starts before killed_at +
    window_s: the outage as the stream saw it, without a threshold. The gap over the kill itself starts at
    the last event before it (or at the kill when there was none); inf when nothing came after the kill."""
    ordered = sorted(times)
    later = [t for t in ordered if t > killed_at]
    if not later:
        return math.inf
    earlier = [t for t in ordered if t <= killed_at]
    previous = earlier[-1] if earlier else killed_at
    longest = 0.0
    for t in later:
        if previous >= killed_at + window_s:
            break
        longest = max(longest, t - previous)
        previous = t
    return longest
