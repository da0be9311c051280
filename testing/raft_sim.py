"""A seeded, deterministic simulator of a Raft cluster under faults, running the production runtime.

N nodes, each the real Driver (utils/raft/driver.py: inbox, Ready loop, waiters, reply matching) stepped
without threads under a simulated clock, over a disk model that loses every unsynced write in a crash
(testing/raft_sim_node.py) and a simulated network (loss, duplication, long delays, reordering,
partitions). Nodes crash at any step boundary of their loop, pause (SIGSTOP) and restart from their
disk; clients' key-value histories are checked for linearizability. A seed fixes the whole run.
Replay one: `python -m testing.raft_sim --seed 7 --mix chaos --trace`.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from random import Random

from testing.raft_sim_checks import SafetyChecker, SafetyViolation, undurable_message
from testing.raft_sim_clients import Workload
from testing.raft_sim_faults import FAULT_MIXES, FaultMix
from testing.raft_sim_network import NetworkFaults, SimNetwork
from testing.raft_sim_node import CrashPlan, DriverNode, ReadyObserver, SimCrash, SimDisk, start_node
from utils.linearizability import CheckResult, check_operations_verbose, kv_model
from utils.raft import wire
from utils.raft.core import Message, NodeId, Ready, Role
from utils.raft.options import RaftOptions

__all__ = [
    "FAULT_MIXES",
    "FaultMix",
    "SimOptions",
    "SimResult",
    "Simulation",
    "SimulationFailure",
    "default_ticks",
    "run_seed",
]

TICK_MS = 50  # the production default; the clock only ever moves in whole and half ticks


def default_ticks() -> int:
    """Ticks of faults and traffic per run: RAFT_SIM_TICKS, else 300."""
    return int(os.environ.get("RAFT_SIM_TICKS", "300"))


@dataclass(frozen=True, slots=True)
class SimOptions:
    seed: int
    mix: str = "chaos"
    nodes: int = 0  # 0: 3 or 5, chosen by the seed
    ticks: int = 300  # ticks with faults and traffic
    heal_ticks_max: int = 300  # then faults stop; the cluster must converge within this
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
    crashes_in_loop: int = 0  # crashes that struck inside a node's loop (at a step boundary)
    crash_points: tuple[str, ...] = ()  # the step boundaries those crashes struck at
    lost_writes: int = 0  # crashes that lost writes not yet fsynced


class SimulationFailure(AssertionError):
    pass


class Simulation(ReadyObserver):
    def __init__(self, options: SimOptions, tracing: bool = False) -> None:
        self.options = options
        self.rng = Random(options.seed)
        rng = self.rng
        count = options.nodes or rng.choice((3, 5))
        self.ids: tuple[NodeId, ...] = tuple(f"n{i + 1}" for i in range(count))
        self.mix = FAULT_MIXES[options.mix]
        compact_every = rng.choice((0, 5, 20))
        self.raft_options = RaftOptions(
            tick_ms=TICK_MS,
            election_ticks=options.election_ticks,
            heartbeat_ticks=rng.choice((1, 2, 2, 3)),
            pre_vote=rng.random() < 0.85,
            check_quorum=rng.random() < 0.85,
            entries_per_message_max=rng.choice((1, 3, 64)),
            inflight_messages_max=rng.choice((1, 2, 8)),
            snapshot_every_entries=compact_every or 10**9,
        )
        self.tracing = tracing
        self.trace_lines: list[str] = []
        self.tick = 0
        self.now_s = 0.0
        self.network = SimNetwork(Random(rng.randrange(2**32)), self.mix.network)
        self.checker = SafetyChecker()
        self.workload = Workload(
            Random(rng.randrange(2**32)),
            self.ids,
            options.clients,
            timeout_ticks=3 * options.election_ticks,
            trace=self.trace,
            acknowledge=self._on_acknowledged,
        )
        self.disks = {n: SimDisk(CrashPlan()) for n in self.ids}
        self.nodes = {n: self._start(n) for n in self.ids}
        self.down_until: dict[NodeId, int] = {}
        self.paused_until: dict[NodeId, int] = {}
        self.partition_until = -1
        self.faults_on = True
        self.leader_commit_seen: dict[NodeId, tuple[int, int]] = {}  # node -> (term, commit) as leader
        self.crash_points: list[str] = []
        self.undurable: list[str] = []  # messages handed out before what they vouch for was durable
        self.trace(
            f"start nodes={','.join(self.ids)} mix={self.mix.name} options={self.raft_options} compact={compact_every}"
        )

    # --- plumbing ---------------------------------------------------------------------------------
    def trace(self, text: str) -> None:
        if self.tracing:
            self.trace_lines.append(f"t={self.tick:05d} {text}")

    def _clock(self) -> float:
        return self.now_s

    def _set_clock(self, phase: float) -> None:
        # Restarts happen at a tick's start, loop iterations half a tick later: a node's next tick is
        # never within rounding of the clock, so each node ticks exactly once per simulated tick.
        self.now_s = (self.tick + phase) * self.raft_options.tick_s

    def _start(self, node_id: NodeId) -> DriverNode:
        disk = self.disks[node_id]
        return start_node(
            node_id,
            self.ids,
            self.raft_options,
            disk,
            disk._crash,
            self,
            self.rng,
            self._clock,
            lambda message: self._hand_out(node_id, message),
            self._on_role_change,
            self._on_machine_apply,
        )

    def _hand_out(self, node_id: NodeId, message: Message) -> None:
        """A request the driver sends: checked against the disk at this very moment, then on the wire."""
        self._check_durable(node_id, message)
        self.network.send(message, self.tick)

    def _check_durable(self, node_id: NodeId, message: Message | None) -> None:
        if message is not None and (reason := undurable_message(self.disks[node_id], message)) is not None:
            self.undurable.append(f"{node_id}: {reason}")

    def _active(self, node_id: NodeId) -> bool:
        return node_id not in self.down_until and node_id not in self.paused_until

    def _reachable(self, node_id: NodeId) -> DriverNode | None:
        return self.nodes[node_id] if self._active(node_id) else None

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
                self._plan_crash(node_id)
            return
        if mix.crash_rate and faulty < faulty_max and rng.random() < mix.crash_rate:
            self._plan_crash(self._victim())
        elif mix.pause_rate and faulty < faulty_max and rng.random() < mix.pause_rate:
            victim = self._victim()
            self.paused_until[victim] = tick + rng.randint(1, mix.pause_ticks_max)
            self.trace(f"{victim} pause until t={self.paused_until[victim]}")

    def _victim(self) -> NodeId:
        """A node picked by its role at most, never by what it has on disk."""
        candidates = [n for n in self.ids if self._active(n) and self.nodes[n].crash.countdown is None]
        leaders = [n for n in candidates if self.nodes[n].role is Role.LEADER]
        if leaders and self.rng.random() < self.mix.leader_victim_rate:
            return leaders[0]
        return self.rng.choice(candidates) if candidates else self.rng.choice(self.ids)

    def _plan_crash(self, node_id: NodeId) -> None:
        """The node dies at a step boundary of its loop a random number of boundaries from now (0: at once)."""
        node = self.nodes[node_id]
        if node_id in self.down_until or node.crash.countdown is not None:
            return
        boundaries = self.rng.randint(0, self.mix.crash_boundaries_max)
        if boundaries == 0:
            self._crash(node_id, "between two iterations")
        else:
            node.crash.countdown = boundaries - 1
            self.trace(f"{node_id} will crash in {boundaries} step boundaries")

    def _partition(self, kind: str) -> None:
        ids = list(self.ids)
        self.rng.shuffle(ids)
        leaders = [n for n in self.ids if self._active(n) and self.nodes[n].role is Role.LEADER]
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

    def _crash(self, node_id: NodeId, where: str) -> None:
        node = self.nodes[node_id]
        if node_id in self.down_until:
            return
        self.paused_until.pop(node_id, None)
        down_ticks = self.rng.randint(1, self.mix.down_ticks_max)
        self.down_until[node_id] = self.tick + down_ticks
        node.alive = False
        node.crash.countdown = None
        node.replies.clear()  # the RPCs it was answering die with it
        self.disks[node_id].crash()
        self.network.drop_to(node_id)
        self.workload.on_crash(node_id, self.tick)
        self.trace(f"{node_id} crash {where} until t={self.down_until[node_id]}")

    def _restart(self, node_id: NodeId) -> None:
        del self.down_until[node_id]
        self.leader_commit_seen.pop(node_id, None)
        disk = self.disks[node_id]
        self.nodes[node_id] = self._start(node_id)
        self.trace(
            f"{node_id} restart term={disk.hard_state.term} commit={disk.hard_state.commit} last={disk.last_index}"
        )

    # --- what the simulation checks around each part of a Ready (ReadyObserver) ------------------
    def after_persist(self, node: DriverNode, ready: Ready) -> None:
        disk = node.disk
        self.checker.on_persist(node.node_id, disk, ready.entries)
        status = node.driver.core_status()
        if ready.hard_state is not None and status.role is Role.LEADER:
            self.checker.on_leader_commit(disk, ready.hard_state.commit, status.term)
            previous = self.leader_commit_seen.get(node.node_id)
            if (
                previous is not None
                and previous[0] == status.term
                and ready.soft_state is None
                and ready.hard_state.commit > previous[1]
            ):
                # Leader since the previous Ready in the same term: it advanced the commit itself.
                self.checker.on_leader_commit_advance(node.node_id, disk, ready.hard_state.commit, status.term)
        if status.role is Role.LEADER:
            self.leader_commit_seen[node.node_id] = (status.term, status.commit_index)
        else:
            self.leader_commit_seen.pop(node.node_id, None)

    def before_apply(self, node: DriverNode, ready: Ready) -> None:
        if ready.snapshot is not None:
            self.trace(f"{node.node_id} install snapshot index={ready.snapshot.index} term={ready.snapshot.term}")
        for entry in ready.committed_entries:
            self.checker.on_apply(node.node_id, entry)

    def _on_role_change(self, node_id: NodeId, role: Role, term: int) -> None:
        self.trace(f"{node_id} role={role.value} term={term}")
        if role is Role.LEADER:
            self.checker.on_role(node_id, Role.LEADER, term)
            self.checker.on_elected(node_id, self.disks[node_id], term)

    def _on_acknowledged(self, node_id: NodeId, index: int, command: bytes) -> None:
        self.checker.on_acknowledged(index, command)
        rate = self.mix.crash_after_ack_rate
        if self.faults_on and rate and self.rng.random() < rate:
            # The leader dies right after telling a client: its followers may not know the commit yet,
            # which is when a new leader must not answer reads from its older commit index.
            faulty = len(self.down_until) + len(self.paused_until)
            node = self.nodes[node_id]
            if faulty < (len(self.ids) - 1) // 2 and node.crash.countdown is None:
                node.crash.countdown = 0  # at its next step boundary: before it tells anyone else
                self.trace(f"{node_id} will crash right after acknowledging index {index}")

    def _on_machine_apply(self, node_id: NodeId, index: int, command: bytes) -> None:
        pass  # the entries were checked as a whole in before_apply

    # --- the clock ----------------------------------------------------------------------------------
    def _iterate(self, node: DriverNode) -> None:
        """One turn of the node's driver loop; a planned crash ends it wherever it strikes."""
        try:
            node.driver.run_iteration()
        except SimCrash as crash:
            self.crash_points.append(str(crash))
            self._send_replies(node)  # answered before it died: those responses are on the wire
            self._crash(node.node_id, str(crash))
            self._fail_on_undurable()
            return
        self._fail_on_undurable()
        node.driver.check_invariants()  # the core's own invariants, cheap enough to check always
        self._send_replies(node)
        self.workload.poll(node, self.tick)

    def _fail_on_undurable(self) -> None:
        if self.undurable:
            raise SafetyViolation(f"durability before sending (Raft Figure 2): {self.undurable[0]}")

    def _send_replies(self, node: DriverNode) -> None:
        if not node.replies:
            return
        waiting: list[Future[Message | None]] = []
        for reply in node.replies:
            if not reply.done():
                waiting.append(reply)
            elif (response := reply.result()) is not None:
                self.network.send(response, self.tick)
        node.replies = waiting

    def _step_tick(self, issue: bool) -> None:
        self._set_clock(0.0)
        if self.faults_on:
            self._inject_faults()
        self._set_clock(0.5)
        if issue:
            self.workload.issue(self.tick, self._reachable)
        held = set(self.paused_until)
        for node_id in self.ids:  # the tick: every running node's loop takes its turn
            if self._active(node_id):
                self._iterate(self.nodes[node_id])
        for _ in range(64):  # message rounds within one tick; what is left waits for the next
            down = set(self.down_until)
            due = self.network.take_due(self.tick, held | down)
            if not due:
                break
            for message in due:
                self._deliver(message)
            for node_id in self.ids:
                node = self.nodes[node_id]
                if self._active(node_id) and node.driver.inbox_queued:
                    self._iterate(node)
        for node_id in self.ids:
            if self._active(node_id):
                status = self.nodes[node_id].driver.status
                self.checker.on_role(node_id, status.role, status.term)
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
        if message.type in wire.RESPONSE_TYPES:
            node.driver.deliver(message)  # came back on one of its own RPCs
        else:
            reply = node.driver.submit_request(message)  # the servicer's exchange()
            node_id = node.node_id
            # Runs inside the driver the moment it hands the response to the waiting RPC.
            reply.add_done_callback(lambda done: self._check_durable(node_id, done.result()))
            node.replies.append(reply)

    def _heal_everything(self) -> None:
        self.faults_on = False
        self._set_clock(0.0)
        self.network.heal()
        self.network.faults = NetworkFaults()
        self.partition_until = -1
        for node in self.nodes.values():
            if node.crash.countdown is not None:
                node.crash.countdown = None  # a crash planned but not struck: called off
        for node_id in sorted(self.down_until):
            self._restart(node_id)
        self.paused_until.clear()
        self.trace("heal everything")

    def _converged(self) -> bool:
        statuses = [n.driver.status for n in self.nodes.values()]
        leaders = [s for s in statuses if s.role is Role.LEADER]
        if len(leaders) != 1:
            return False
        leader = leaders[0]
        if self.disks[leader.node_id].term(leader.commit_index) != leader.term:
            return False  # not yet committed in its own term
        return all(s.applied_index == leader.commit_index and s.leader_id == leader.node_id for s in statuses)

    def run(self) -> SimResult:
        for _ in range(self.options.ticks):
            self._step_tick(issue=True)
        self._heal_everything()
        for _ in range(self.options.heal_ticks_max):
            if self._converged() and not any(s.pending for s in self.workload.slots):
                break
            self._step_tick(issue=False)
        else:
            statuses = [self.nodes[n].driver.status for n in self.ids]
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
            terms=max(n.driver.status.term for n in self.nodes.values()),
            ops_completed=self.workload.completed_count,
            ops_unknown=self.workload.unknown_count,
            ops_failed=self.workload.failed_count,
            checks=self.checker.checks_count,
            linearizable=report.result,
            crashes_in_loop=len(self.crash_points),
            crash_points=tuple(sorted(set(self.crash_points))),
            lost_writes=sum(disk.lost_writes for disk in self.disks.values()),
        )


def run_seed(options: SimOptions, trace_lines_max: int = 400) -> SimResult:
    """Runs one seed; on any failure re-runs it with tracing and raises with seed and trace."""
    try:
        return Simulation(options).run()
    except Exception as failure:  # any error at all fails the seed, named with its replay
        tail: list[str] = []
        if trace_lines_max:
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


def soak(first_seed: int, seeds: int, ticks: int, nodes: int, out: Callable[[str], None]) -> int:
    """Runs `seeds` seeds round-robin over every mix; reports seeds/s and each failing seed with its replay."""
    mixes = sorted(FAULT_MIXES)
    started = last_report = time.monotonic()
    failures: list[str] = []
    for done, seed in enumerate(range(first_seed, first_seed + seeds), start=1):
        options = SimOptions(seed=seed, mix=mixes[seed % len(mixes)], ticks=ticks, nodes=nodes)
        try:
            run_seed(options, trace_lines_max=0)
        except SimulationFailure as failure:
            summary = str(failure).split("\n", 2)
            failures.append(summary[0])
            out(f"FAILED {summary[0]}")
            out(f"  {summary[1]}")
        now = time.monotonic()
        if now - last_report >= 10.0 or done == seeds:
            last_report = now
            out(
                f"{done}/{seeds} seeds ({first_seed}..{seed}), {done / (now - started):.1f} seeds/s, "
                f"{len(failures)} failed"
            )
    for line in failures:
        out(f"FAILED {line}")
    return 1 if failures else 0


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=1, help="how many consecutive seeds")
    parser.add_argument("--mix", choices=sorted(FAULT_MIXES), default="chaos")
    parser.add_argument("--ticks", type=int, default=default_ticks())
    parser.add_argument("--nodes", type=int, default=0, help="3 or 5; 0: chosen by the seed")
    parser.add_argument("--trace", action="store_true", help="print the full trace of the run")
    parser.add_argument("--soak", action="store_true", help="every mix round-robin (seed %% mixes), keep going")
    args = parser.parse_args(argv)
    if args.soak:
        return soak(args.seed, args.seeds, args.ticks, args.nodes, out)
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
