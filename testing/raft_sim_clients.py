"""Simulated clients of a Raft key-value store: puts, appends and linearizable gets, with a history.

It decides when an operation returns (applied on its proposer, or its read served after ReadIndex),
when it definitely failed (another entry took its index; a read was dropped) and when its outcome
is unknown (proposer crashed, timeout): such writes stay in the history with return_time = inf.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from random import Random

from testing.raft_sim_cluster import SimNode
from utils.linearizability import Operation
from utils.raft.core import Entry, NodeId, RawNode, ReadState
from utils.raft.errors import NotLeader

KEYS = ("x", "y", "z")


@dataclass(slots=True)
class PendingOp:
    slot: int
    client_id: int
    kind: str  # "get" | "put" | "append"
    key: str
    value: str
    call: float
    node: NodeId
    deadline_tick: int
    term: int = 0  # writes: the (term, index) the proposer assigned
    index: int = 0
    context: bytes = b""  # reads
    read_index: int = -1  # reads: set once the ReadState arrived


@dataclass(slots=True)
class ClientSlot:
    client_id: int
    guess: NodeId  # where this client believes the leader is
    pending: PendingOp | None = None
    next_issue_tick: int = 0
    sequence: int = 0


class Workload:
    def __init__(
        self,
        rng: Random,
        node_ids: tuple[NodeId, ...],
        clients: int,
        timeout_ticks: int,
        trace: Callable[[str], None],
        acknowledge: Callable[[Entry], None],
    ) -> None:
        self.rng = rng
        self.node_ids = node_ids
        self.timeout_ticks = timeout_ticks
        self.trace = trace
        self.acknowledge = acknowledge
        self.slots = [ClientSlot(client_id=i, guess=rng.choice(node_ids)) for i in range(clients)]
        self.next_client_id = clients
        self.clock = 0  # one step per call/return: real-time order within a tick
        self.history: list[Operation] = []
        self.writes_by_node: dict[NodeId, dict[int, PendingOp]] = {n: {} for n in node_ids}
        self.reads_by_node: dict[NodeId, dict[bytes, PendingOp]] = {n: {} for n in node_ids}
        self.completed_count = 0
        self.failed_count = 0
        self.unknown_count = 0

    def _now(self) -> float:
        self.clock += 1
        return float(self.clock)

    # --- issuing -------------------------------------------------------------------------------------
    def issue(self, tick: int, reachable: Callable[[NodeId], RawNode | None]) -> None:
        for slot_index, slot in enumerate(self.slots):
            if slot.pending is not None or tick < slot.next_issue_tick:
                continue
            if self.rng.random() < 0.2:
                # Clients do not all agree on the leader: some ask a node at random, which is
                # how a deposed leader that still believes it leads gets asked.
                slot.guess = self.rng.choice(self.node_ids)
            raw = reachable(slot.guess)
            if raw is None:  # connection refused: try another node later
                slot.guess = self.rng.choice(self.node_ids)
                slot.next_issue_tick = tick + 1
                continue
            self._try(slot_index, slot, raw, tick)

    def _try(self, slot_index: int, slot: ClientSlot, raw: RawNode, tick: int) -> None:
        roll = self.rng.random()
        kind = "get" if roll < 0.4 else ("put" if roll < 0.7 else "append")
        key = self.rng.choice(KEYS)
        slot.sequence += 1
        value = "" if kind == "get" else f"{slot_index}.{slot.sequence};"
        op = PendingOp(slot_index, slot.client_id, kind, key, value, 0.0, slot.guess, tick + self.timeout_ticks)
        try:
            if kind == "get":
                op.context = f"{slot.client_id}/{slot.sequence}".encode()
                raw.read_index(op.context)
                self.reads_by_node[op.node][op.context] = op
            else:
                op.term, op.index = raw.propose(f"{kind} {key} {value}".encode())
                self.writes_by_node[op.node][op.index] = op
        except NotLeader as refused:
            slot.guess = refused.leader_id if refused.leader_id is not None else self.rng.choice(self.node_ids)
            slot.next_issue_tick = tick + 1
            return
        op.call = self._now()
        slot.pending = op
        self.trace(
            f"client c{slot.client_id} invoke {kind} {key} {value or '-'} at={op.node} term={op.term} index={op.index}"
        )

    # --- outcomes ------------------------------------------------------------------------------------
    def _finish(self, op: PendingOp, output: str | None, known: bool, tick: int) -> None:
        slot = self.slots[op.slot]
        assert slot.pending is op
        slot.pending = None
        slot.next_issue_tick = tick + self.rng.randint(1, 4)  # think time
        value = op.value if op.kind != "get" else ""
        return_time = self._now() if known else math.inf
        self.history.append(Operation(op.client_id, (op.kind, op.key, value), op.call, output, return_time))
        if known:
            self.completed_count += 1
        else:
            self.unknown_count += 1
            # A client with an operation in limbo is a new client from now on (Jepsen's rule).
            slot.client_id = self.next_client_id
            self.next_client_id += 1
        self.trace(f"client c{op.client_id} return {op.kind} {op.key} -> {output if known else 'unknown'}")

    def _abandon(self, op: PendingOp, tick: int) -> None:
        """The operation certainly had no effect: it leaves no trace in the history."""
        slot = self.slots[op.slot]
        assert slot.pending is op
        slot.pending = None
        slot.next_issue_tick = tick + 1
        slot.guess = self.rng.choice(self.node_ids)
        self.failed_count += 1
        self.trace(f"client c{op.client_id} failed {op.kind} {op.key}")

    def on_apply(self, node: SimNode, entry: Entry, tick: int) -> None:
        op = self.writes_by_node[node.node_id].pop(entry.index, None)
        if op is None:
            return
        if entry.term == op.term:
            self.acknowledge(entry)
            self._finish(op, None, True, tick)
        else:  # another entry took the index: ours can never commit
            self._abandon(op, tick)

    def on_read_state(self, node: SimNode, state: ReadState) -> None:
        op = self.reads_by_node[node.node_id].get(state.context)
        if op is not None:
            op.read_index = state.index

    def on_dropped_read(self, node: SimNode, context: bytes, tick: int) -> None:
        op = self.reads_by_node[node.node_id].pop(context, None)
        if op is not None:
            self._abandon(op, tick)

    def serve_reads(self, node: SimNode, tick: int) -> None:
        reads = self.reads_by_node[node.node_id]
        if not reads:
            return
        for context, op in list(reads.items()):
            if 0 <= op.read_index <= node.applied_index:
                del reads[context]
                self._finish(op, node.machine.data.get(op.key, ""), True, tick)

    def on_crash(self, node_id: NodeId, tick: int) -> None:
        for op in list(self.writes_by_node[node_id].values()):
            self._finish(op, None, False, tick)
        for op in list(self.reads_by_node[node_id].values()):
            self._abandon(op, tick)
        self.writes_by_node[node_id].clear()
        self.reads_by_node[node_id].clear()

    def expire(self, tick: int) -> None:
        for slot in self.slots:
            op = slot.pending
            if op is None or tick < op.deadline_tick:
                continue
            if op.kind == "get":
                self.reads_by_node[op.node].pop(op.context, None)
                self._abandon(op, tick)
            else:
                self.writes_by_node[op.node].pop(op.index, None)
                self._finish(op, None, False, tick)

    def on_snapshot(self, node: SimNode, index: int, tick: int) -> None:
        """Writes whose index an installed snapshot covers were never seen applied: unknown."""
        writes = self.writes_by_node[node.node_id]
        for write_index in [i for i in writes if i <= index]:
            self._finish(writes.pop(write_index), None, False, tick)

    def stop(self, tick: int) -> None:
        for node_id in self.node_ids:
            self.on_crash(node_id, tick)
