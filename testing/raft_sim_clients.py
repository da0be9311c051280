"""Simulated clients of a Raft key-value store: puts, appends and linearizable gets, with a history.

Clients call the driver as RaftNode does (propose, then the future; read_index, then read once applied)
and believe what it answers: a result is a commit, an outcome-known refusal is no effect, anything else
(or the node crashing, or a timeout) leaves the outcome unknown: such writes stay with return_time = inf.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from random import Random
from typing import Any, cast

from testing.raft_sim_node import DriverNode, KeyValueStateMachine
from utils.linearizability import Operation
from utils.raft.core import NodeId
from utils.raft.errors import NotLeader, RaftUnavailable

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
    command: bytes = b""  # writes
    context: bytes = b""  # reads
    read_index: int = -1  # reads: set once the read index arrived
    future: Future[Any] | None = None


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
        acknowledge: Callable[[NodeId, int, bytes], None],
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
        self.ops_by_node: dict[NodeId, list[PendingOp]] = {n: [] for n in node_ids}
        self.completed_count = 0
        self.failed_count = 0
        self.redirected_count = 0
        self.unknown_count = 0

    def _now(self) -> float:
        self.clock += 1
        return float(self.clock)

    # --- issuing -------------------------------------------------------------------------------------
    def issue(self, tick: int, reachable: Callable[[NodeId], DriverNode | None]) -> None:
        for slot_index, slot in enumerate(self.slots):
            if slot.pending is not None or tick < slot.next_issue_tick:
                continue
            if self.rng.random() < 0.2:
                # Clients do not all agree on the leader: some ask a node at random, which is
                # how a deposed leader that still believes it leads gets asked.
                slot.guess = self.rng.choice(self.node_ids)
            node = reachable(slot.guess)
            if node is None:  # connection refused: try another node later
                slot.guess = self.rng.choice(self.node_ids)
                slot.next_issue_tick = tick + 1
                continue
            self._try(slot_index, slot, node, tick)

    def _try(self, slot_index: int, slot: ClientSlot, node: DriverNode, tick: int) -> None:
        roll = self.rng.random()
        kind = "get" if roll < 0.4 else ("put" if roll < 0.7 else "append")
        key = self.rng.choice(KEYS)
        slot.sequence += 1
        value = "" if kind == "get" else f"{slot_index}.{slot.sequence};"
        op = PendingOp(slot_index, slot.client_id, kind, key, value, 0.0, slot.guess, tick + self.timeout_ticks)
        if kind == "get":
            op.context = f"{slot.client_id}/{slot.sequence}".encode()
            op.future = node.driver.read_index(op.context)
        else:
            op.command = f"{kind} {key} {value}".encode()
            op.future = node.driver.propose(op.command)
        op.call = self._now()
        slot.pending = op
        self.ops_by_node[op.node].append(op)
        self.trace(f"client c{slot.client_id} invoke {kind} {key} {value or '-'} at={op.node}")

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

    def _abandon(self, op: PendingOp, tick: int, leader: NodeId | None) -> None:
        """The operation certainly had no effect: it leaves no trace in the history."""
        slot = self.slots[op.slot]
        assert slot.pending is op
        slot.pending = None
        slot.next_issue_tick = tick + 1
        slot.guess = leader if leader is not None else self.rng.choice(self.node_ids)
        if leader is None:
            self.failed_count += 1
        else:
            self.redirected_count += 1  # NotLeader naming the leader: the client goes there next
        self.trace(f"client c{op.client_id} failed {op.kind} {op.key}")

    def poll(self, node: DriverNode, tick: int) -> None:
        """What the node answered since the last poll: results, refusals, reads now servable."""
        ops = self.ops_by_node[node.node_id]
        if not ops:
            return
        for op in list(ops):
            future = op.future
            assert future is not None
            if op.read_index >= 0:
                self._serve_read(node, op, tick)
                continue
            if not future.done():
                continue
            error = future.exception()
            if error is None and op.kind == "get":
                op.read_index = future.result()
                self._serve_read(node, op, tick)
                continue
            ops.remove(op)
            if error is None:
                self.acknowledge(node.node_id, future.result(), op.command)
                self._finish(op, None, True, tick)
            elif isinstance(error, NotLeader):
                self._abandon(op, tick, error.leader_id)
            elif op.kind == "get" or (isinstance(error, RaftUnavailable) and not error.outcome_unknown):
                self._abandon(op, tick, None)
            else:
                self._finish(op, None, False, tick)

    def _serve_read(self, node: DriverNode, op: PendingOp, tick: int) -> None:
        """RaftNode.read's second half (read_at): the value once everything up to the read index is applied."""
        key = op.key
        applied, value = node.driver.read_local(lambda machine: cast(KeyValueStateMachine, machine).data.get(key, ""))
        if applied >= op.read_index:
            self.ops_by_node[node.node_id].remove(op)
            self._finish(op, value, True, tick)

    def on_crash(self, node_id: NodeId, tick: int) -> None:
        for op in self.ops_by_node[node_id]:
            if op.kind == "get":
                self._abandon(op, tick, None)
            else:
                self._finish(op, None, False, tick)
        self.ops_by_node[node_id].clear()

    def expire(self, tick: int) -> None:
        for slot in self.slots:
            op = slot.pending
            if op is None or tick < op.deadline_tick:
                continue
            self.ops_by_node[op.node].remove(op)
            if op.kind == "get":
                self._abandon(op, tick, None)
            else:
                self._finish(op, None, False, tick)

    def stop(self, tick: int) -> None:
        for node_id in self.node_ids:
            self.on_crash(node_id, tick)
