"""Per-call counts kept in plain Python and handed to OpenTelemetry only when metrics are read (observable
instruments): an OTel synchronous add cleans and hashes its attributes each time, which at our call rates was a
large part of an RPC's own cost (issue 14, bench/rpc_overhead.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from opentelemetry.metrics import CallbackOptions, Observation


@dataclass(slots=True)
class _Sum:
    attributes: Mapping[str, str]
    total: int


class CallCounts:
    """Thread-safe sums per attribute set. `attributes` objects are the caller's, built once and reused: they are
    the keys (by identity; held here, so an id is never reused) and what each observation carries, so the set is
    bounded by what the code builds, not by its calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sums: dict[int, _Sum] = {}

    def add(self, amount: int, attributes: Mapping[str, str]) -> None:
        key = id(attributes)
        with self._lock:
            entry = self._sums.get(key)
            if entry is None:
                self._sums[key] = _Sum(attributes, amount)
            else:
                entry.total += amount

    def value(self, attributes: Mapping[str, str]) -> int:
        with self._lock:
            entry = self._sums.get(id(attributes))
            return entry.total if entry else 0

    def observe(self, _options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            entries = [(entry.attributes, entry.total) for entry in self._sums.values()]
        return [Observation(total, dict(attributes)) for attributes, total in entries]
