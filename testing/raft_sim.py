"""A seeded, deterministic simulator of a Raft cluster under faults, checking safety at every step.

N RawNodes, a simulated clock (ticks) and network (loss, duplication, delay, reordering, partitions),
crash-restart from exactly what Readys made durable, pauses (SIGSTOP), and clients whose key-value
history is checked for linearizability. Replay a seed: `python -m testing.raft_sim --seed 7`.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from dataclasses import dataclass
from random import Random

from testing.raft_sim_checks import SafetyChecker, SafetyViolation
from testing.raft_sim_clients import Workload
from testing.raft_sim_cluster import MemoryStorage, SimNode, make_node
from testing.raft_sim_faults import FAULT_MIXES, FaultMix
from testing.raft_sim_network import NetworkFaults, SimNetwork
from utils.linearizability import CheckResult, check_operations_verbose, kv_model
from utils.raft.core import Message, NodeId, PersistedState, RawNode, Ready, Role
from utils.raft.ready_loop import Persisted, handle_ready

__all__ = ["FAULT_MIXES", "FaultMix", "SimOptions", "SimResult", "Simulation", "SimulationFailure", "run_seed"]


@dataclass(frozen=True, slots=True)
class SimOptions:
    seed: int
    mix: str = "chaos"
    nodes: int = 0  # 0: 3 or 5, chosen by the seed
    ticks: int = 120  # ticks with faults and traffic
    heal_ticks_max: int = 200  # then faults stop; the cluster must converge within this
    clients: int = 4
    election_ticks: int = 10


@dataclass(frozen=True, slots=True)
class SimResult:
    seed: int
    mix: str
    nodes: int
    ticks: int
    messages: int
    lost: int
    terms: int
    ops_completed: int
    ops_unknown: int
    ops_failed: int
    checks: int
    linearizable: CheckResult


class SimulationFailure(AssertionError):
    pass


class Simulation:
    def __init__(self, options: SimOptions, tracing: bool = False) -> None:
        self.options = options
        self.rng = Random(options.seed)
        rng = self.rng
        count = options.nodes or rng.choice((3, 3, 5))
        self.ids: tuple[NodeId, ...] = tuple(f"n{i + 1}" for i in range(count))
        self.mix = FAULT_MIXES[options.mix]
        self.config_fields = {
            "election_ticks": options.election_ticks,
            "heartbeat_ticks": rng.choice((1, 2, 2, 3)),
            "pre_vote": rng.random() < 0.85,
            "check_quorum": rng.random() < 0.85,
            "entries_per_message_max": rng.choice((1, 3, 64)),
            "inflight_messages_max": rng.choice((1, 2, 8)),
        }
        self.compact_every_entries = rng.choice((0, 5, 20))
        self.tracing = tracing
        self.trace_lines: list[str] = []
        self.tick = 0
        self.network = SimNetwork(Random(rng.randrange(2**32)), self.mix.network)
        self.checker = SafetyChecker()
        self.workload = Workload(
            Random(rng.randrange(2**32)),
            self.ids,
            options.clients,
            timeout_ticks=3 * options.election_ticks,
            trace=self.trace,
            acknowledge=self.checker.on_acknowledged,
        )
        self.nodes = {n: self._make_node(n, MemoryStorage(), None) for n in self.ids}
        self.down_until: dict[NodeId, int] = {}
        self.paused_until: dict[NodeId, int] = {}
        self.partition_until = -1
        self.faults_on = True
        self.leader_commit_seen: dict[NodeId, tuple[int, int]] = {}  # node -> (term, commit) as leader
        self.trace(
            f"start nodes={','.join(self.ids)} mix={self.mix.name} "
            f"config={sorted(self.config_fields.items())} compact={self.compact_every_entries}"
        )

    # --- plumbing ---------------------------------------------------------------------------------
    def trace(self, text: str) -> None:
        if self.tracing:
            self.trace_lines.append(f"t={self.tick:05d} {text}")

    def _make_node(self, node_id: NodeId, storage: MemoryStorage, restored: PersistedState | None) -> SimNode:
        return make_node(node_id, self.ids, self.config_fields, self.rng, storage, restored)

    def _active(self, node_id: NodeId) -> bool:
        return node_id not in self.down_until and node_id not in self.paused_until

    def _reachable(self, node_id: NodeId) -> RawNode | None:
        return self.nodes[node_id].raw if self._active(node_id) else None

    # --- faults -----------------------------------------------------------------------------------
    def _inject_faults(self) -> None:
        rng, mix, tick = self.rng, self.mix, self.tick
        if self.partition_until >= 0 and tick >= self.partition_until:
            self.network.heal()
            self.partition_until = -1
            self.trace("heal partition")
        elif self.partition_until < 0 and mix.partition_rate and rng.random() < mix.partition_rate:
            self._partition(rng.choice(mix.partition_kinds))
            self.partition_until = tick + rng.randint(5, mix.partition_ticks_max)
        for node_id, until in sorted(self.down_until.items()):
            if tick >= until:
                self._restart(node_id)
        for node_id, until in sorted(self.paused_until.items()):
            if tick >= until:
                del self.paused_until[node_id]
                self.trace(f"{node_id} resume")
        faulty_max = (len(self.ids) - 1) // 2
        faulty = len(self.down_until) + len(self.paused_until)
        if mix.full_restart_rate and not faulty and rng.random() < mix.full_restart_rate:
            for node_id in self.ids:
                self._crash(node_id, rng.randint(1, 10))
            return
        if mix.voter_crash_rate and faulty < faulty_max and rng.random() < mix.voter_crash_rate:
            candidates = [n for n in self.ids if self._active(n) and self.nodes[n].raw.role is Role.CANDIDATE]
            if candidates:
                term = self.nodes[candidates[0]].raw.term
                voters = [
                    n
                    for n in self.ids
                    if self._active(n)
                    and n not in candidates
                    and self.nodes[n].storage.hard_state.term == term
                    and self.nodes[n].storage.hard_state.vote is not None
                ]
                if voters:
                    self._crash(rng.choice(voters), rng.randint(1, mix.down_ticks_max))
                    return
        if mix.crash_rate and faulty < faulty_max and rng.random() < mix.crash_rate:
            self._crash(self._victim(), rng.randint(1, mix.down_ticks_max))
        elif mix.pause_rate and faulty < faulty_max and rng.random() < mix.pause_rate:
            victim = self._victim()
            self.paused_until[victim] = tick + rng.randint(1, mix.pause_ticks_max)
            self.trace(f"{victim} pause until t={self.paused_until[victim]}")

    def _victim(self) -> NodeId:
        candidates = [n for n in self.ids if self._active(n)]
        leaders = [n for n in candidates if self.nodes[n].raw.role is Role.LEADER]
        if leaders and self.rng.random() < self.mix.leader_victim_rate:
            return leaders[0]
        return self.rng.choice(candidates)

    def _partition(self, kind: str) -> None:
        ids = list(self.ids)
        self.rng.shuffle(ids)
        leaders = [n for n in self.ids if self.nodes[n].raw.role is Role.LEADER and self._active(n)]
        minority = (len(ids) - 1) // 2
        if kind == "isolate_leader" and leaders:
            side = [leaders[0]]
        elif kind == "minority":
            side = ids[: self.rng.randint(1, minority)]
        elif kind == "bridge":
            bridge, rest = ids[0], ids[1:]
            half = len(rest) // 2
            self.network.cut(rest[:half], rest[half:])
            self.trace(f"partition bridge via {bridge}: {sorted(rest[:half])} | {sorted(rest[half:])}")
            return
        elif kind == "one_way":
            side = [leaders[0] if leaders else ids[0]]
            self.network.cut(side, [n for n in ids if n not in side], both_ways=False)
            self.trace(f"partition one_way: {side[0]} cannot send")
            return
        else:
            side = ids[: self.rng.randint(1, minority)]
        self.network.cut(side, [n for n in ids if n not in side])
        self.trace(f"partition {kind}: {sorted(side)} | {sorted(n for n in ids if n not in side)}")

    def _crash(self, node_id: NodeId, down_ticks: int) -> None:
        if node_id in self.down_until:
            return
        self.paused_until.pop(node_id, None)
        self.down_until[node_id] = self.tick + down_ticks
        self.nodes[node_id].alive = False
        self.network.drop_to(node_id)
        self.workload.on_crash(node_id, self.tick)
        self.trace(f"{node_id} crash until t={self.down_until[node_id]}")

    def _restart(self, node_id: NodeId) -> None:
        del self.down_until[node_id]
        self.leader_commit_seen.pop(node_id, None)
        storage = self.nodes[node_id].storage
        self.nodes[node_id] = self._make_node(node_id, storage, storage.persisted())
        self.trace(
            f"{node_id} restart term={storage.hard_state.term} commit={storage.hard_state.commit} "
            f"last={len(storage.entries) + (storage.snapshot.index if storage.snapshot else 0)}"
        )

    # --- one node's Ready: persist, (maybe crash), send, apply, advance ---------------------------
    def _process_ready(self, node: SimNode) -> None:
        if handle_ready(node.raw, _SimReady(self, node)) is None:
            return  # crashed after persisting: nothing sent, applied or advanced
        node.raw.check_invariants()  # the core's own invariants, cheap enough to check always
        self.workload.serve_reads(node, self.tick)
        node.maybe_compact(self.compact_every_entries)

    def _persist(self, node: SimNode, ready: Ready) -> Persisted:
        raw = node.raw
        mix = self.mix
        crash_roll = self.rng.random() if self.faults_on and mix.crash_in_ready_rate else 1.0
        if crash_roll < mix.crash_in_ready_rate / 2:
            # Dies while writing: nothing of this Ready is durable, so none of its messages may be out
            # either (what catches a runtime that sends before it persists, Raft §5.1 Figure 2).
            self.trace(f"{node.node_id} crash before persisting, {len(ready.messages)} messages unsent")
            self._crash(node.node_id, self.rng.randint(1, mix.down_ticks_max))
            return Persisted.CRASHED
        node.storage.persist(ready)
        self.checker.on_persist(node.node_id, node.storage, ready.entries)
        if ready.soft_state is not None:
            self.trace(
                f"{node.node_id} role={ready.soft_state.role.value} term={raw.term} leader={ready.soft_state.leader_id}"
            )
            if ready.soft_state.role is Role.LEADER:
                self.checker.on_role(node.node_id, Role.LEADER, raw.term)
                self.checker.on_elected(node.node_id, node.storage, raw.term)
        if ready.hard_state is not None and raw.role is Role.LEADER:
            self.checker.on_leader_commit(node.storage, ready.hard_state.commit, raw.term)
            previous = self.leader_commit_seen.get(node.node_id)
            if (
                previous is not None
                and previous[0] == raw.term
                and ready.soft_state is None
                and ready.hard_state.commit > previous[1]
            ):
                # Leader since the previous Ready in the same term: it advanced the commit itself.
                self.checker.on_leader_commit_advance(node.node_id, node.storage, ready.hard_state.commit, raw.term)
        if raw.role is Role.LEADER:
            self.leader_commit_seen[node.node_id] = (raw.term, raw.status().commit_index)
        else:
            self.leader_commit_seen.pop(node.node_id, None)
        if crash_roll < mix.crash_in_ready_rate:
            self.trace(f"{node.node_id} crash after persisting, {len(ready.messages)} messages unsent")
            self._crash(node.node_id, self.rng.randint(1, self.mix.down_ticks_max))
            return Persisted.CRASHED
        return Persisted.CONTINUE

    def _apply(self, node: SimNode, ready: Ready) -> None:
        tick = self.tick
        if ready.snapshot is not None:
            node.install(ready.snapshot)
            self.trace(f"{node.node_id} install snapshot index={ready.snapshot.index} term={ready.snapshot.term}")
            self.workload.on_snapshot(node, ready.snapshot.index, tick)
        for entry in ready.committed_entries:
            self.checker.on_apply(node.node_id, entry)
            node.apply_entry(entry)
            self.workload.on_apply(node, entry, tick)
        for state in ready.read_states:
            self.workload.on_read_state(node, state)
        for context in ready.dropped_reads:
            self.workload.on_dropped_read(node, context, tick)

    # --- the clock ----------------------------------------------------------------------------------
    def _step_tick(self, issue: bool) -> None:
        if self.faults_on:
            self._inject_faults()
        if issue:
            self.workload.issue(self.tick, self._reachable)
        active = [self.nodes[n] for n in self.ids if self._active(n)]
        for node in active:
            node.raw.tick()
        held = set(self.paused_until)
        down = set(self.down_until)
        for _ in range(64):  # message rounds within one tick; what is left waits for the next
            progressed = False
            for node in active:
                if node.alive and node.node_id not in down and node.raw.has_ready():
                    self._process_ready(node)
                    progressed = True
            down = set(self.down_until)
            due = self.network.take_due(self.tick, held | down)
            for message in due:
                self._deliver(message)
            if not due and not progressed:
                break
        for node in active:
            if node.alive:
                self.checker.on_role(node.node_id, node.raw.role, node.raw.term)
        self.workload.expire(self.tick)
        self.tick += 1

    def _deliver(self, message: Message) -> None:
        node = self.nodes[message.recipient]
        if not node.alive:
            return
        if self.tracing:
            m = message
            self.trace(
                f"{m.recipient} <- {m.sender} {m.type.value} term={m.term} index={m.index} "
                f"log_term={m.log_term} entries={len(m.entries)} commit={m.commit} "
                f"reject={int(m.reject)} hint={m.reject_hint}/{m.reject_term} "
                f"context={m.context.decode(errors='replace') or '-'}"
            )
        node.raw.step(message)

    def _heal_everything(self) -> None:
        self.faults_on = False
        self.network.heal()
        self.network.faults = NetworkFaults()
        self.partition_until = -1
        for node_id in sorted(self.down_until):
            self._restart(node_id)
        self.paused_until.clear()
        self.trace("heal everything")

    def _converged(self) -> bool:
        leaders = [n for n in self.nodes.values() if n.raw.role is Role.LEADER]
        if len(leaders) != 1:
            return False
        leader = leaders[0].raw.status()
        if self.nodes[leader.node_id].storage.term(leader.commit_index) != leader.term:
            return False  # not yet committed in its own term
        return all(
            n.applied_index == leader.commit_index and n.raw.leader == leader.node_id for n in self.nodes.values()
        )

    def run(self) -> SimResult:
        for _ in range(self.options.ticks):
            self._step_tick(issue=True)
        self._heal_everything()
        for _ in range(self.options.heal_ticks_max):
            if self._converged() and not any(s.pending for s in self.workload.slots):
                break
            self._step_tick(issue=False)
        else:
            statuses = [self.nodes[n].raw.status() for n in self.ids]
            raise SimulationFailure(
                f"liveness: no convergence {self.options.heal_ticks_max} ticks after healing: {statuses}"
            )
        states = {n: self.nodes[n].machine.data for n in self.ids}
        if len({repr(sorted(s.items())) for s in states.values()}) != 1:
            raise SimulationFailure(f"replicas diverge after convergence: {states}")
        self.workload.stop(self.tick)
        report = check_operations_verbose(kv_model, self.workload.history, timeout_s=10.0)
        if report.result is CheckResult.ILLEGAL:
            raise SimulationFailure(f"history not linearizable: {report}")
        return SimResult(
            seed=self.options.seed,
            mix=self.mix.name,
            nodes=len(self.ids),
            ticks=self.tick,
            messages=self.network.sent_count,
            lost=self.network.lost_count,
            terms=max(n.raw.term for n in self.nodes.values()),
            ops_completed=self.workload.completed_count,
            ops_unknown=self.workload.unknown_count,
            ops_failed=self.workload.failed_count,
            checks=self.checker.checks_count,
            linearizable=report.result,
        )


class _SimReady:
    """How the simulator carries out one node's Ready, checking safety as it goes (order: handle_ready's)."""

    __slots__ = ("node", "sim")

    def __init__(self, sim: Simulation, node: SimNode) -> None:
        self.sim = sim
        self.node = node

    def persist_ready(self, ready: Ready) -> Persisted:
        return self.sim._persist(self.node, ready)

    def send_ready(self, ready: Ready) -> None:
        for message in ready.messages:
            self.sim.network.send(message, self.sim.tick)

    def apply_ready(self, ready: Ready) -> None:
        self.sim._apply(self.node, ready)


def run_seed(options: SimOptions, trace_lines_max: int = 400) -> SimResult:
    """Runs one seed; on any failure re-runs it with tracing and raises with seed and trace."""
    try:
        return Simulation(options).run()
    except (SafetyViolation, SimulationFailure, AssertionError) as failure:
        replay = Simulation(options, tracing=True)
        try:
            replay.run()
        except AssertionError:
            pass
        tail = replay.trace_lines[-trace_lines_max:]
        command = (
            f"python -m testing.raft_sim --seed {options.seed} --mix {options.mix} "
            f"--ticks {options.ticks} --nodes {options.nodes} --trace"
        )
        raise SimulationFailure(
            f"raft simulation failed: seed={options.seed} mix={options.mix}: {failure}\n"
            f"replay: {command}\n" + "\n".join(tail)
        ) from failure


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=1, help="how many consecutive seeds")
    parser.add_argument("--mix", choices=sorted(FAULT_MIXES), default="chaos")
    parser.add_argument("--ticks", type=int, default=120)
    parser.add_argument("--nodes", type=int, default=0)
    parser.add_argument("--trace", action="store_true", help="print the full trace of the run")
    args = parser.parse_args(argv)
    for seed in range(args.seed, args.seed + args.seeds):
        options = SimOptions(seed=seed, mix=args.mix, ticks=args.ticks, nodes=args.nodes)
        if args.trace:
            simulation = Simulation(options, tracing=True)
            try:
                result = simulation.run()
            finally:
                for line in simulation.trace_lines:
                    out(line)
        else:
            result = run_seed(options)
        out(str(dataclasses.asdict(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
