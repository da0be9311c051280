"""The simulated network of the Raft simulator: loss, duplication, delay, reordering, partitions.

It decides when (and whether) each message reaches its recipient, from a seeded generator only.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

from utils.raft.core import Message, NodeId


@dataclass(frozen=True, slots=True)
class NetworkFaults:
    loss_rate: float = 0.0  # chance a message is lost
    duplicate_rate: float = 0.0  # chance a message is delivered twice
    delay_rate: float = 0.0  # chance a message is held back (which also reorders it)
    delay_ticks_max: int = 0
    long_delay_rate: float = 0.0  # chance a message is held for up to long_delay_ticks_max (several timeouts)
    long_delay_ticks_max: int = 0
    reorder: bool = False  # deliver what is due in a shuffled order


class SimNetwork:
    def __init__(self, rng: Random, faults: NetworkFaults) -> None:
        self.rng = rng
        self.faults = faults
        self.queue: list[tuple[int, Message]] = []  # (deliver at tick, message), in send order
        self.blocked: set[tuple[NodeId, NodeId]] = set()  # (sender, recipient) links cut
        self.sent_count = 0
        self.lost_count = 0
        self.duplicated_count = 0

    def send(self, message: Message, now: int) -> None:
        self.sent_count += 1
        faults = self.faults
        rng = self.rng
        if faults.loss_rate and rng.random() < faults.loss_rate:
            self.lost_count += 1
            return
        copies = 1
        if faults.duplicate_rate and rng.random() < faults.duplicate_rate:
            copies = 2
            self.duplicated_count += 1
        for _ in range(copies):
            delay = 0
            if faults.long_delay_rate and rng.random() < faults.long_delay_rate:
                delay = rng.randint(1, faults.long_delay_ticks_max)
            elif faults.delay_rate and rng.random() < faults.delay_rate:
                delay = rng.randint(1, faults.delay_ticks_max)
            self.queue.append((now + delay, message))

    def take_due(self, now: int, held: set[NodeId]) -> list[Message]:
        """Messages due by `now` whose recipient is not held (paused); cut links lose theirs."""
        if not self.queue:
            return []
        due: list[Message] = []
        later: list[tuple[int, Message]] = []
        for item in self.queue:
            at, message = item
            if at <= now and message.recipient not in held:
                if (message.sender, message.recipient) in self.blocked:
                    self.lost_count += 1
                else:
                    due.append(message)
            else:
                later.append(item)
        self.queue = later
        if self.faults.reorder and len(due) > 1:
            self.rng.shuffle(due)
        return due

    def drop_to(self, node_id: NodeId) -> None:
        """A crashed process loses what was on its way to it (its connections reset)."""
        kept = [item for item in self.queue if item[1].recipient != node_id]
        self.lost_count += len(self.queue) - len(kept)
        self.queue = kept

    # --- partitions ---------------------------------------------------------------------------------
    def cut(self, side_a: list[NodeId], side_b: list[NodeId], both_ways: bool = True) -> None:
        for a in side_a:
            for b in side_b:
                self.blocked.add((a, b))
                if both_ways:
                    self.blocked.add((b, a))

    def heal(self) -> None:
        self.blocked.clear()
