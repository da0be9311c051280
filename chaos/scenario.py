"""What a chaos run does and when: its options, and the fault schedule drawn from a seeded random.Random.

Pure: the same options and seed give the same schedule, so a failing run can be replayed.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from enum import Enum


class FaultKind(Enum):
    KILL = "kill"  # SIGKILL (docker kill), restarted when healed
    PAUSE = "pause"  # SIGSTOP (docker pause), SIGCONT when healed
    ISOLATE = "isolate"  # cut off from every peer, reconnected when healed
    SLOW = "slow"  # a participant answers late (throttled, or its fault-injection delay setting)
    ROLL = "roll"  # graceful restart of every replica of a group, one after the other


class Role(Enum):
    LEADER = "leader"
    FOLLOWER = "follower"
    SINGLE = "single"  # a service with one process (payment_service, order_queue)
    ALL = "all"  # every replica of the group, in turn


GROUPS = ("books_database", "order_executor")


@dataclass(frozen=True, slots=True)
class Target:
    """Whom a fault hits: a role in a group, resolved to one process at the moment the fault starts."""

    service: str  # books_database | order_executor | payment_service | order_queue
    role: Role

    def __str__(self) -> str:
        return self.service if self.role is Role.SINGLE else f"{self.service}:{self.role.value}"


# Who each kind of fault may hit (docs/design.md §6: any one node killed; a leader paused or cut off; a slow
# participant).
TARGETS: dict[FaultKind, tuple[Target, ...]] = {
    FaultKind.KILL: (
        Target("books_database", Role.LEADER),
        Target("books_database", Role.FOLLOWER),
        Target("order_executor", Role.LEADER),
        Target("order_executor", Role.FOLLOWER),
        Target("payment_service", Role.SINGLE),
        Target("order_queue", Role.SINGLE),
    ),
    FaultKind.PAUSE: (Target("books_database", Role.LEADER), Target("order_executor", Role.LEADER)),
    FaultKind.ISOLATE: (Target("books_database", Role.LEADER), Target("order_executor", Role.LEADER)),
    FaultKind.SLOW: (Target("payment_service", Role.SINGLE), Target("books_database", Role.LEADER)),
    FaultKind.ROLL: (Target("books_database", Role.ALL), Target("order_executor", Role.ALL)),
}


@dataclass(frozen=True, slots=True)
class FaultEvent:
    """One fault: starts `at_s` seconds into the load, healed `hold_s` seconds later."""

    at_s: float
    kind: FaultKind
    target: Target
    hold_s: float

    @property
    def heal_at_s(self) -> float:
        return self.at_s + self.hold_s

    def describe(self) -> str:
        how = "graceful restarts in turn" if self.kind is FaultKind.ROLL else f"healed after {self.hold_s:.1f}s"
        return f"{self.at_s:6.1f}s  {self.kind.value:<7} {self.target}  ({how})"


@dataclass(frozen=True, slots=True)
class LoadProfile:
    """The checkouts: rate, mix and contention."""

    rate_per_s: float = 5.0  # checkouts started per second (open loop)
    concurrency_max: int = 32  # requests in flight at most; beyond it a tick is counted as skipped
    request_timeout_s: float = 15.0  # one HTTP request's deadline
    rejected_fraction: float = 0.15  # bad card format or terms not accepted: rejected at validation
    declined_fraction: float = 0.10  # the declined test card: approved, then aborted by payment
    hot_books: int = 3  # contention: most orders go to these few books ...
    hot_fraction: float = 0.6  # ... this share of them
    quantity_max: int = 3  # copies per item, 1..quantity_max
    restock_every_s: float = 3.0  # a restock of a hot book (POST /stock/increment) this often
    restock_amount_max: int = 3
    stock_read_every_s: float = 0.25  # linearizability probe: a stock read of a hot book this often

    def __post_init__(self) -> None:
        if self.rate_per_s <= 0 or self.concurrency_max < 1 or self.request_timeout_s <= 0:
            raise ValueError("rate_per_s and request_timeout_s must be positive, concurrency_max at least 1")
        if not (
            0 <= self.rejected_fraction
            and 0 <= self.declined_fraction
            and self.rejected_fraction + self.declined_fraction <= 1
        ):
            raise ValueError("rejected_fraction and declined_fraction must be in [0, 1] and sum to at most 1")
        if self.hot_books < 1 or not 0 <= self.hot_fraction <= 1 or self.quantity_max < 1:
            raise ValueError("hot_books and quantity_max must be at least 1, hot_fraction in [0, 1]")


@dataclass(frozen=True, slots=True)
class Options:
    """One run: how long, how hard, which faults, which seed."""

    duration_s: float = 60.0
    seed: int = 1
    faults: tuple[FaultKind, ...] = (FaultKind.KILL, FaultKind.PAUSE)
    load: LoadProfile = field(default_factory=LoadProfile)
    warmup_s: float = 5.0  # no fault before this: the fleet settles, leaders are known
    cooldown_s: float = 8.0  # no fault in the last seconds: the run ends healed
    hold_min_s: float = 2.0  # how long a fault lasts before it is healed
    hold_max_s: float = 6.0
    gap_min_s: float = 3.0  # quiet time between one fault's heal and the next fault
    gap_max_s: float = 8.0
    settle_s: float = 10.0  # I3: every accepted order is final within this after healing
    last_copies: int = 3  # I5 burst after healing: k copies, many buyers (0 = no burst)
    last_copies_buyers: int = 8
    schedule: tuple[FaultEvent, ...] | None = None  # explicit faults (--schedule); None = drawn from the seed

    def __post_init__(self) -> None:
        if self.duration_s <= 0 or self.settle_s <= 0:
            raise ValueError("duration_s and settle_s must be positive")
        if not 0 < self.hold_min_s <= self.hold_max_s or not 0 <= self.gap_min_s <= self.gap_max_s:
            raise ValueError("need 0 < hold_min_s <= hold_max_s and 0 <= gap_min_s <= gap_max_s")
        if self.warmup_s < 0 or self.cooldown_s < 0:
            raise ValueError("warmup_s and cooldown_s must not be negative")
        if self.last_copies < 0 or (self.last_copies and self.last_copies_buyers <= self.last_copies):
            raise ValueError("the last-copies burst needs more buyers than copies")


def build_schedule(options: Options, rng: random.Random) -> list[FaultEvent]:
    """Faults one at a time (the system tolerates one failure at a time), all healed before the cooldown.

    Draws only from `rng`: a given seed always gives the same schedule.
    """
    if options.schedule is not None:
        return list(options.schedule)
    if not options.faults:
        return []
    kinds = sorted(set(options.faults), key=lambda k: k.value)  # the order the user typed must not matter
    events: list[FaultEvent] = []
    at_s = options.warmup_s
    end_s = options.duration_s - options.cooldown_s
    while True:
        kind = rng.choice(kinds)
        target = rng.choice(TARGETS[kind])
        hold_s = round(rng.uniform(options.hold_min_s, options.hold_max_s), 1)
        if at_s + hold_s > end_s:
            break
        events.append(FaultEvent(round(at_s, 1), kind, target, hold_s))
        at_s += hold_s + rng.uniform(options.gap_min_s, options.gap_max_s)
    for earlier, later in itertools.pairwise(events):
        assert earlier.heal_at_s <= later.at_s, "faults overlap"
    return events


def parse_faults(text: str) -> tuple[FaultKind, ...]:
    """ "kill,pause" → (KILL, PAUSE); "none" or "" → no faults. Unknown names raise ValueError."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    if names in ([], ["none"]):
        return ()
    known = {k.value: k for k in FaultKind}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown fault {', '.join(unknown)}; choose from {', '.join(known)}")
    return tuple(dict.fromkeys(known[n] for n in names))


def parse_schedule(text: str) -> list[FaultEvent]:
    """An explicit schedule instead of a drawn one: "AT:KIND:SERVICE[:ROLE]:HOLD,…", e.g.
    "5:kill:books_database:follower:3,20:pause:order_executor:leader:3,35:slow:payment_service:4".
    Events must not overlap (one fault at a time)."""
    events: list[FaultEvent] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        fields = part.split(":")
        if len(fields) not in (4, 5):
            raise ValueError(f"bad schedule entry {part!r}: expected AT:KIND:SERVICE[:ROLE]:HOLD")
        try:
            at_s, hold_s = float(fields[0]), float(fields[-1])
            kind = FaultKind(fields[1])
            role = Role(fields[3]) if len(fields) == 5 else Role.SINGLE
        except ValueError as error:
            raise ValueError(f"bad schedule entry {part!r}: {error}") from None
        target = Target(fields[2], role)
        if target not in TARGETS[kind]:
            allowed = ", ".join(str(t) for t in TARGETS[kind])
            raise ValueError(f"bad schedule entry {part!r}: {kind.value} can hit {allowed}")
        if at_s < 0 or hold_s <= 0:
            raise ValueError(f"bad schedule entry {part!r}: AT must be >= 0 and HOLD > 0")
        events.append(FaultEvent(at_s, kind, target, hold_s))
    events.sort(key=lambda e: e.at_s)
    for earlier, later in itertools.pairwise(events):
        if earlier.heal_at_s > later.at_s:
            raise ValueError(f"faults overlap: {earlier.describe().strip()} / {later.describe().strip()}")
    return events
