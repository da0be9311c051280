"""Failover figures from timestamps: how long after a leader was killed a new one led, committed, and checkouts
and fulfilment resumed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def first_after(times: Iterable[float], after: float) -> float:
    """The earliest time after `after`, or inf."""
    return min((t for t in times if t > after), default=math.inf)


def resumed_after(times: Iterable[float], killed_at: float, gap_before_s: float) -> float:
    """Seconds from the kill until the stream of events (commits, 200s) resumed: the end of the first gap longer
    than `gap_before_s` after the kill (events already in flight at the kill do not count as resuming). 0 when no
    such gap opened; inf when nothing came after the kill."""
    later = sorted(t for t in times if t > killed_at)
    if not later:
        return math.inf
    previous = killed_at
    for t in later:
        if t - previous > gap_before_s:
            return t - killed_at
        previous = t
    return 0.0


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
