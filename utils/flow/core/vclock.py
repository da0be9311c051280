"""VectorClock: one counter per service; tick, merge and compare (before/after/equal/concurrent).

An immutable value (Mattern/Fidge clocks); zero counters are dropped so equal histories compare equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from utils.pb.common import common_pb2

ENTRIES_MAX = 64  # a clock from a peer with more entries than this is malformed
COUNTER_MAX = 2**62  # far beyond any real history; guards against overflow in a peer's clock


class Ordering(Enum):
    BEFORE = "before"  # self happened before other
    AFTER = "after"  # other happened before self
    EQUAL = "equal"
    CONCURRENT = "concurrent"  # neither saw the other


@dataclass(frozen=True, slots=True)
class VectorClock:
    """Counters sorted by name, all positive; build one with `VectorClock.of({...})`."""

    counters: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        names = [name for name, _ in self.counters]
        if names != sorted(set(names)):
            raise ValueError("vector clock entries must be unique and sorted by name: use VectorClock.of()")
        if len(self.counters) > ENTRIES_MAX:
            raise ValueError(f"vector clock has {len(self.counters)} entries, more than {ENTRIES_MAX}")
        for name, value in self.counters:
            if not name:
                raise ValueError("vector clock entry needs a service name")
            if not 0 < value <= COUNTER_MAX:
                raise ValueError(f"vector clock counter {name}={value} out of range 1..{COUNTER_MAX}")

    @classmethod
    def of(cls, counters: Mapping[str, int] | None = None) -> VectorClock:
        """A clock from a mapping; zero entries are dropped (a missing entry means zero)."""
        return cls(tuple(sorted((name, int(value)) for name, value in (counters or {}).items() if value != 0)))

    def get(self, service: str) -> int:
        return next((value for name, value in self.counters if name == service), 0)

    def as_dict(self) -> dict[str, int]:
        return dict(self.counters)

    def tick(self, service: str) -> VectorClock:
        """The clock after one local event of `service`."""
        counters = self.as_dict()
        counters[service] = counters.get(service, 0) + 1
        return VectorClock.of(counters)

    def merge(self, *others: VectorClock) -> VectorClock:
        """The entry-wise maximum: what a process knows after receiving the others' clocks."""
        counters = self.as_dict()
        for other in others:
            for name, value in other.counters:
                counters[name] = max(counters.get(name, 0), value)
        return VectorClock.of(counters)

    def compare(self, other: VectorClock) -> Ordering:
        names = {name for name, _ in self.counters} | {name for name, _ in other.counters}
        less = any(self.get(n) < other.get(n) for n in names)
        greater = any(self.get(n) > other.get(n) for n in names)
        if less and greater:
            return Ordering.CONCURRENT
        if less:
            return Ordering.BEFORE
        if greater:
            return Ordering.AFTER
        return Ordering.EQUAL

    def __le__(self, other: VectorClock) -> bool:
        return self.compare(other) in (Ordering.BEFORE, Ordering.EQUAL)

    def __lt__(self, other: VectorClock) -> bool:
        return self.compare(other) is Ordering.BEFORE

    def __ge__(self, other: VectorClock) -> bool:
        return other <= self

    def __gt__(self, other: VectorClock) -> bool:
        return other < self

    def to_proto(self) -> common_pb2.VectorClock:
        return common_pb2.VectorClock(counters=self.as_dict())

    @classmethod
    def from_proto(cls, message: common_pb2.VectorClock) -> VectorClock:
        """Validates a peer's clock: raises ValueError for negative, huge or too many counters."""
        if len(message.counters) > ENTRIES_MAX:
            raise ValueError(f"vector clock has {len(message.counters)} entries, more than {ENTRIES_MAX}")
        if any(value < 0 for value in message.counters.values()):
            raise ValueError("vector clock counters must not be negative")
        return cls.of(dict(message.counters))

    def __str__(self) -> str:
        return "{" + ", ".join(f"{name}:{value}" for name, value in self.counters) + "}"
