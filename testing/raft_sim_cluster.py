"""An in-memory cluster of RawNodes for tests: durable storage model, message queue, partitions.

It decides what survives a crash (only what a Ready made durable) and what each step of a Ready does
(utils/raft/ready_loop.py fixes their order, as for the driver); fault scheduling lives in raft_sim.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from random import Random

from utils.raft.core import (
    Config,
    Entry,
    EntryKind,
    HardState,
    Message,
    MessageType,
    NodeId,
    PersistedState,
    RawNode,
    Ready,
    Role,
    Snapshot,
)
from utils.raft.ready_loop import Persisted, handle_ready


class MemoryStorage:
    """What a node's disk holds: hard state, snapshot and log, updated only from Readys."""

    def __init__(self) -> None:
        self.hard_state = HardState()
        self.snapshot: Snapshot | None = None
        self.entries: list[Entry] = []

    def persist(self, ready: Ready) -> None:
        if ready.hard_state is not None:
            self.hard_state = ready.hard_state
        if ready.snapshot is not None:
            self.snapshot = ready.snapshot
            self.entries = []  # a received snapshot replaces the whole log
        if ready.entries:
            first = ready.entries[0].index
            offset = self.snapshot.index if self.snapshot else 0
            assert offset < first <= offset + len(self.entries) + 1, (first, offset, len(self.entries))
            del self.entries[first - offset - 1 :]
            self.entries.extend(ready.entries)

    def compact(self, snapshot: Snapshot) -> None:
        offset = self.snapshot.index if self.snapshot else 0
        if snapshot.index <= offset:
            return
        del self.entries[: snapshot.index - offset]
        self.snapshot = snapshot

    def term(self, index: int) -> int | None:
        offset = self.snapshot.index if self.snapshot else 0
        if index == offset:
            return self.snapshot.term if self.snapshot else 0
        if offset < index <= offset + len(self.entries):
            return self.entries[index - offset - 1].term
        return None

    def persisted(self) -> PersistedState:
        return PersistedState(self.hard_state, self.snapshot, tuple(self.entries))


class KeyValueMachine:
    """The test state machine: commands are b"put k v" / b"append k v" / b"noop"; state is a dict."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def apply(self, command: bytes) -> str | None:
        if not command:
            return None
        op, key, value = command.decode().split(" ", 2)
        if op == "put":
            self.data[key] = value
        elif op == "append":
            self.data[key] = self.data.get(key, "") + value
        else:
            raise AssertionError(f"unknown command {command!r}")
        return None

    def snapshot(self) -> bytes:
        return "\n".join(f"{k}\t{v}" for k, v in sorted(self.data.items())).encode()

    def restore(self, data: bytes) -> None:
        self.data = {}
        for line in data.decode().split("\n") if data else []:
            key, value = line.split("\t", 1)
            self.data[key] = value


@dataclasses.dataclass
class SimNode:
    node_id: NodeId
    config: Config
    raw: RawNode
    storage: MemoryStorage
    machine: KeyValueMachine
    applied: list[Entry]  # every entry applied since the last restart, in order
    applied_index: int = 0
    alive: bool = True

    def install(self, snapshot: Snapshot) -> None:
        self.machine.restore(snapshot.data)
        self.applied_index = snapshot.index

    def apply_entry(self, entry: Entry) -> None:
        assert entry.index == self.applied_index + 1, (self.node_id, entry.index, self.applied_index)
        if entry.kind is EntryKind.NORMAL:
            self.machine.apply(entry.data)
        self.applied.append(entry)
        self.applied_index = entry.index

    def maybe_compact(self, every_entries: int) -> None:
        """Snapshots the machine once `every_entries` (0: never) were applied since the last snapshot."""
        snapshot_index = self.storage.snapshot.index if self.storage.snapshot else 0
        if every_entries and self.applied_index - snapshot_index >= every_entries:
            data = self.machine.snapshot()
            term = self.storage.term(self.applied_index)
            assert term is not None
            self.raw.compact(self.applied_index, data)
            self.storage.compact(Snapshot(self.applied_index, term, data))


def make_node(
    node_id: NodeId,
    ids: tuple[NodeId, ...],
    config_fields: Mapping[str, object],
    rng: Random,
    storage: MemoryStorage,
    restored: PersistedState | None,
) -> SimNode:
    """A node started from `restored` (None: fresh), its machine rebuilt from the stored snapshot."""
    config = Config(node_id=node_id, peers=ids, **config_fields)  # type: ignore[arg-type]
    node = SimNode(
        node_id, config, RawNode(config, Random(rng.randrange(2**32)), restored), storage, KeyValueMachine(), []
    )
    if restored is not None and restored.snapshot is not None:
        node.install(restored.snapshot)
    return node


ReadyHook = Callable[[SimNode, Ready], None]


class Cluster:
    """N nodes; messages queue in `in_flight` until delivered; `blocked` links drop them."""

    def __init__(self, ids: Iterable[NodeId], seed: int = 0, **config_fields: object) -> None:
        self.ids = tuple(sorted(ids))
        self.rng = Random(seed)
        self.config_fields = config_fields
        self.nodes: dict[NodeId, SimNode] = {}
        self.in_flight: list[Message] = []
        self.blocked: set[tuple[NodeId, NodeId]] = set()
        self.sent: list[Message] = []  # every message handed to the network, for counting
        self.ready_hooks: list[ReadyHook] = []
        self.compact_every_entries = 0  # 0: never compact
        for node_id in self.ids:
            self.nodes[node_id] = self._make_node(node_id, MemoryStorage(), None)

    def _make_node(self, node_id: NodeId, storage: MemoryStorage, restored: PersistedState | None) -> SimNode:
        return make_node(node_id, self.ids, self.config_fields, self.rng, storage, restored)

    # --- faults ---------------------------------------------------------------------------------
    def isolate(self, node_id: NodeId) -> None:
        self.partition([node_id], [p for p in self.ids if p != node_id])

    def partition(self, *groups: Iterable[NodeId]) -> None:
        """Cuts every link between nodes of different groups (nodes in no group keep all links)."""
        group_of = {n: i for i, group in enumerate(groups) for n in group}
        for a in self.ids:
            for b in self.ids:
                if a in group_of and b in group_of and group_of[a] != group_of[b]:
                    self.blocked.add((a, b))

    def heal(self) -> None:
        self.blocked.clear()

    def crash(self, node_id: NodeId) -> None:
        """Loses everything not made durable: in-memory state, unprocessed input."""
        self.nodes[node_id].alive = False
        self.in_flight = [m for m in self.in_flight if m.recipient != node_id]

    def restart(self, node_id: NodeId) -> None:
        old = self.nodes[node_id]
        self.nodes[node_id] = self._make_node(node_id, old.storage, old.storage.persisted())

    # --- driving --------------------------------------------------------------------------------
    def leader(self) -> NodeId | None:
        leaders = [n.node_id for n in self.nodes.values() if n.alive and n.raw.role is Role.LEADER]
        if not leaders:
            return None
        return max(leaders, key=lambda n: self.nodes[n].raw.term)

    def tick(self, ids: Iterable[NodeId] | None = None) -> None:
        for node_id in ids if ids is not None else self.ids:
            node = self.nodes[node_id]
            if node.alive:
                node.raw.tick()

    def process_ready(self, node: SimNode) -> Ready | None:
        if not node.alive:
            return None
        ready = handle_ready(node.raw, _ClusterReady(self, node))
        if ready is not None:
            node.maybe_compact(self.compact_every_entries)
        return ready

    def send(self, message: Message) -> None:
        self.sent.append(message)
        self.in_flight.append(message)

    def process_all_readys(self) -> None:
        for node_id in self.ids:
            self.process_ready(self.nodes[node_id])

    def deliver(self, message: Message) -> None:
        node = self.nodes[message.recipient]
        if node.alive and (message.sender, message.recipient) not in self.blocked:
            node.raw.step(message)

    def deliver_all(self, rounds_max: int = 1000, keep: Callable[[Message], bool] | None = None) -> int:
        """Processes Readys and delivers messages until the network is quiet; returns round trips."""
        rounds = 0
        self.process_all_readys()
        while self.in_flight:
            rounds += 1
            assert rounds <= rounds_max, "the cluster did not quiesce"
            batch, self.in_flight = self.in_flight, []
            for message in batch:
                if keep is None or keep(message):
                    self.deliver(message)
            self.process_all_readys()
        return rounds

    def run(self, ticks: int) -> None:
        for _ in range(ticks):
            self.tick()
            self.deliver_all()

    def run_until(self, condition: Callable[[], bool], ticks_max: int = 500) -> int:
        """Ticks (delivering everything after each tick) until condition(); returns ticks used."""
        for ticks in range(ticks_max + 1):
            self.deliver_all()
            if condition():
                return ticks
            self.tick()
        raise AssertionError(f"condition not reached within {ticks_max} ticks")

    def elect(self, node_id: NodeId, keep: Callable[[Message], bool] | None = None) -> None:
        """Makes node_id leader: it campaigns at once (as on TIMEOUT_NOW), then the cluster settles.

        A first campaign may only teach the candidate a higher term; it retries a few times.
        """
        candidate = self.nodes[node_id]
        other = self._any_other(node_id)
        for _ in range(3):
            if candidate.raw.role is not Role.FOLLOWER:
                # As if a peer answered with a higher term: the candidate steps down to retry.
                candidate.raw.step(
                    Message(MessageType.VOTE_RESPONSE, other, node_id, candidate.raw.term + 1, reject=True)
                )
            candidate.raw.step(Message(MessageType.TIMEOUT_NOW, other, node_id, max(candidate.raw.term, 1)))
            self.deliver_all(keep=keep)
            if candidate.raw.role is Role.LEADER:
                return
        raise AssertionError(f"{node_id} could not be elected: {candidate.raw.status()}")

    def _any_other(self, node_id: NodeId) -> NodeId:
        return next(p for p in self.ids if p != node_id)

    def propose(self, node_id: NodeId, command: bytes) -> tuple[int, int]:
        return self.nodes[node_id].raw.propose(command)

    def committed_commands(self, node_id: NodeId) -> list[bytes]:
        return [e.data for e in self.nodes[node_id].applied if e.kind is EntryKind.NORMAL]


class _ClusterReady:
    """How the test cluster carries out one node's Ready (the order is handle_ready's)."""

    __slots__ = ("cluster", "node")

    def __init__(self, cluster: Cluster, node: SimNode) -> None:
        self.cluster = cluster
        self.node = node

    def persist_ready(self, ready: Ready) -> Persisted:
        self.node.storage.persist(ready)
        for hook in self.cluster.ready_hooks:
            hook(self.node, ready)
        return Persisted.CONTINUE

    def send_ready(self, ready: Ready) -> None:
        for message in ready.messages:
            self.cluster.send(message)

    def apply_ready(self, ready: Ready) -> None:
        if ready.snapshot is not None:
            self.node.install(ready.snapshot)
        for entry in ready.committed_entries:
            self.node.apply_entry(entry)
