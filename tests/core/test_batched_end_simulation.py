"""Simulation of the executor group with batched ENDs: hypothesis draws interleavings of leases (new and repeated),
votes, phase 2 with lost acks, ENDs riding on BEGINs and DECISIONs or flushed alone, clock steps and leader changes
(the batch and every running transaction lost, sometimes right after an entry committed).

The cores are composed as the runner composes them (decision log, coordinator table, recovery plan, END batch);
the checks are the protocol's: recovery finds exactly the open transactions, each once; a Prepare never follows a
logged decision; an END is logged only once every participant applied the decision; every outcome reported and
every participant's final state is the log's first decision; a replica replaying the log gets the same state.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum

from hypothesis import example, given, settings
from hypothesis import strategies as st

from order_executor.core import coordinator as c
from order_executor.core.decision_log import Applied, DecisionLog, encode_begin, encode_decision, encode_ends
from order_executor.core.end_batch import EndBatch, EndBatchLimits
from order_executor.core.order import Item, OrderSummary, Outcome
from order_executor.core.recovery import (
    AlreadyRunning,
    PresumeAbort,
    ReportEnded,
    ResendDecision,
    RunNew,
    plan_for,
    plan_recovery,
)

PARTICIPANTS = ("books", "payment")
ORDERS = 6  # a small pool, so the same order is leased again while running, after it ended, after a crash
LIMITS = EndBatchLimits(per_entry_max=3, wait_max_s=1.0, pending_max=4)


class PState(Enum):
    NONE = "NONE"
    PREPARED = "PREPARED"
    COMMITTED = "COMMITTED"
    ABORTED = "ABORTED"


def order(n: int) -> OrderSummary:
    return OrderSummary(f"o{n}", (Item("b1", 1, 100 + n),), 100 + n, "tok", "4242")


@dataclass
class Running:
    tx: c.Transaction
    inputs: deque[c.Input] = field(default_factory=deque)


@dataclass
class Leader:
    term: int
    batch: EndBatch = field(default_factory=lambda: EndBatch(LIMITS))
    running: dict[str, Running] = field(default_factory=dict)


class World:
    def __init__(self) -> None:
        self.log = DecisionLog()  # every replica's state: the committed entries, applied in order
        self.entries: list[bytes] = []
        self.now = 0.0
        self.leader = Leader(term=1)
        self.participant: dict[tuple[str, str], PState] = {}
        self.declines: set[str] = set()  # orders whose payment votes ABORT
        self.reported: dict[str, Outcome] = {}
        self.crash_after_next_commit = False

    # ---- the group's log --------------------------------------------------------------------------------------
    def propose(self, command: bytes) -> Applied:
        self.entries.append(command)
        applied = self.log.apply(len(self.entries), command)
        assert not applied.error, applied.error
        assert not applied.ends_refused, f"an END without a decision reached the log: {applied.ends_refused}"
        for tx_id in applied.ended:
            record = self.log.record(tx_id)
            assert record is not None and record.decision is not None
            want = PState.COMMITTED if record.decision is Outcome.COMMIT else PState.ABORTED
            states = {p: self.participant.get((tx_id, p), PState.NONE) for p in PARTICIPANTS}
            if record.decision is Outcome.COMMIT:
                assert all(s is want for s in states.values()), f"END of {tx_id} before every ack: {states}"
            else:
                assert all(s in (PState.ABORTED, PState.NONE) for s in states.values()), states
                assert all(s is not PState.PREPARED for s in states.values()), f"END of {tx_id}: {states}"
        if self.crash_after_next_commit:
            self.crash_after_next_commit = False
            raise Crashed
        return applied

    # ---- the leader -------------------------------------------------------------------------------------------
    def lease(self, n: int) -> None:
        leader, new = self.leader, order(n)
        if new.order_id in leader.running:
            return  # AlreadyRunning: the worker keeps the newest lease and does not start a second run
        tx = c.new_transaction(new.order_id, PARTICIPANTS)
        effects, tx = c.step(tx, c.Begin(new))
        assert effects == [c.LogBegin(new)]
        applied = self.propose(encode_begin(new, leader.batch.take_any()))
        if applied.changed:
            self.start(tx, c.BeginDurable())
        else:
            self.run_action(plan_for(new, applied.record, set(leader.running)))

    def run_action(self, action: object) -> None:
        if isinstance(action, RunNew):
            self.lease(int(action.order.order_id[1:]))
        elif isinstance(action, ResendDecision):
            tx = c.new_transaction(action.order.order_id, PARTICIPANTS)
            self.start(tx, c.Resume(action.order, action.outcome, action.reason))
        elif isinstance(action, PresumeAbort):
            self.start(c.new_transaction(action.order.order_id, PARTICIPANTS), c.Resume(action.order, None))
        elif isinstance(action, ReportEnded):
            self.report(action.order.order_id, action.outcome)
        else:
            assert isinstance(action, AlreadyRunning)

    def start(self, tx: c.Transaction, first: c.Input) -> None:
        assert tx.tx_id not in self.leader.running, f"{tx.tx_id} run twice at once"
        self.leader.running[tx.tx_id] = Running(tx, deque([first]))

    def advance(self, pick: int, ack_lost: bool) -> None:
        """One input to one running transaction, and its effects carried out."""
        if not self.leader.running:
            return
        tx_id = sorted(self.leader.running)[pick % len(self.leader.running)]
        run = self.leader.running[tx_id]
        if not run.inputs:
            return
        effects, run.tx = c.step(run.tx, run.inputs.popleft())
        for effect in effects:
            self.carry_out(run, effect, ack_lost)
        if run.tx.phase is c.Phase.DONE:
            del self.leader.running[tx_id]

    def carry_out(self, run: Running, effect: c.Effect, ack_lost: bool) -> None:
        tx_id = run.tx.tx_id
        if isinstance(effect, c.SendPrepare):
            record = self.log.record(tx_id)
            assert record is not None and record.decision is None, f"Prepare of {tx_id} after its decision"
            key = (tx_id, effect.participant)
            state = self.participant.get(key, PState.NONE)
            if state is PState.NONE:
                declined = effect.participant == "payment" and tx_id in self.declines
                state = PState.ABORTED if declined else PState.PREPARED
                self.participant[key] = state
            run.inputs.append(c.Vote(effect.participant, state in (PState.PREPARED, PState.COMMITTED), "declined"))
        elif isinstance(effect, c.LogDecision):
            applied = self.propose(encode_decision(tx_id, effect.outcome, effect.reason, self.leader.batch.take_any()))
            assert applied.record is not None and applied.record.decision is not None
            run.inputs.append(c.DecisionDurable(applied.record.decision, applied.record.reason))
        elif isinstance(effect, (c.SendCommit, c.SendAbort)):
            key = (tx_id, effect.participant)
            state = self.participant.get(key, PState.NONE)
            if isinstance(effect, c.SendCommit):
                assert state in (PState.PREPARED, PState.COMMITTED), f"COMMIT to {key} in {state}"
                self.participant[key] = PState.COMMITTED
            else:
                assert state is not PState.COMMITTED, f"ABORT to {key} after it committed"
                self.participant[key] = PState.ABORTED
            # A lost ack: the participant applied it, the coordinator does not know (and resends).
            run.inputs.append(c.Phase2Timeout() if ack_lost else c.Ack(effect.participant))
        elif isinstance(effect, c.LogEnd):
            self.leader.batch.add(tx_id, self.now)
        elif isinstance(effect, c.ReportOutcome):
            self.report(tx_id, effect.outcome)
        elif isinstance(effect, c.LogBegin):
            raise AssertionError("BEGIN is logged by lease() before the core is driven")

    def report(self, tx_id: str, outcome: Outcome) -> None:
        record = self.log.record(tx_id)
        assert record is not None and record.decision is outcome, f"{tx_id} reported {outcome} beside {record}"
        assert self.reported.setdefault(tx_id, outcome) is outcome

    def tick(self, seconds: float) -> None:
        self.now += seconds
        wait_s = self.leader.batch.due_in_s(self.now)
        if wait_s is not None and wait_s <= 0:
            self.propose(encode_ends(self.leader.batch.take_any()))

    # ---- a new leader -----------------------------------------------------------------------------------------
    def elect(self) -> None:
        """The old leader is gone with its batch and everything it ran; the new one recovers from the log."""
        self.leader = Leader(term=self.leader.term + 1)
        open_ids = [r.tx_id for r in self.log.open_records()]
        ended = {tx for tx in (f"o{n}" for n in range(ORDERS)) if (r := self.log.record(tx)) and r.ended}
        actions = plan_recovery(self.log.open_records(), set())
        planned = [a.order.order_id for a in actions]
        assert planned == open_ids and len(set(planned)) == len(planned), "each open transaction once, oldest first"
        assert not set(planned) & ended, "an ended transaction is never recovered"
        begun = {tx for tx in (f"o{n}" for n in range(ORDERS)) if self.log.record(tx) is not None}
        assert set(planned) == begun - ended, "recovery finishes exactly the open transactions"
        for action in actions:
            self.run_action(action)


class Crashed(Exception):
    """The leader died right after an entry committed: it never learned the outcome."""


OP = st.one_of(
    st.tuples(st.just("lease"), st.integers(0, ORDERS - 1), st.booleans()),
    st.tuples(st.just("lease_again"), st.integers(0, ORDERS - 1), st.booleans()),
    st.tuples(st.just("advance"), st.integers(0, 7), st.booleans()),
    st.tuples(st.just("advance"), st.integers(0, 7), st.just(False)),
    st.tuples(st.just("tick"), st.integers(1, 8), st.booleans()),
    st.tuples(st.just("elect"), st.integers(0, 1), st.booleans()),
    st.tuples(st.just("crash_on_commit"), st.integers(0, 1), st.booleans()),
)


def run(world: World, op: str, arg: int, flag: bool) -> None:
    try:
        if op == "lease":
            if flag:
                world.declines.add(f"o{arg}")
            world.lease(arg)
        elif op == "lease_again":
            # The lease of an order already in the log ran out (it finished, or its leader died): leased again.
            begun = [n for n in range(ORDERS) if world.log.record(f"o{n}") is not None]
            if begun:
                world.lease(begun[arg % len(begun)])
        elif op == "advance":
            world.advance(arg, ack_lost=flag)
        elif op == "tick":
            world.tick(arg * 0.25)
        elif op == "elect":
            world.elect()
        elif op == "crash_on_commit":
            world.crash_after_next_commit = True
    except Crashed:
        world.elect()


def quiesce(world: World) -> None:
    """No more faults: the leader runs everything to the end and flushes its batch; a leader change then recovers
    what is still open (ENDs dropped because the batch was full), until a new leader finds nothing open."""
    world.crash_after_next_commit = False
    for _ in range(ORDERS + 1):  # each round ends at least one more transaction for good
        for _ in range(1000):
            if not world.leader.running:
                break
            world.advance(0, ack_lost=False)
        assert not world.leader.running, "every transaction finishes once acks arrive"
        for _ in range(LIMITS.pending_max):  # one entry carries at most per_entry_max ENDs: flush until none held
            if not len(world.leader.batch):
                break
            world.tick(LIMITS.wait_max_s)
        assert not len(world.leader.batch)
        world.elect()
        if not world.leader.running:
            break
    assert world.log.open_records() == [] and not world.leader.running


# Always tried first: o0 runs to the end, and is leased again while its END still waits in the batch (the BEGIN
# of the second lease carries that END: it must still read as a repeat, never as a new transaction to prepare).
LEASED_AGAIN_WITH_ITS_END_WAITING = [("lease", 0, False), *[("advance", 0, False)] * 6, ("lease_again", 0, False)]


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(OP, max_size=80))
@example(LEASED_AGAIN_WITH_ITS_END_WAITING)
def test_batched_ends_any_interleaving_recovery_finishes_exactly_the_open_transactions(
    ops: list[tuple[str, int, bool]],
) -> None:
    world = World()
    for op, arg, flag in ops:
        run(world, op, arg, flag)
    quiesce(world)
    for n in range(ORDERS):
        record = world.log.record(f"o{n}")
        if record is None:
            continue
        assert record.decision is not None and record.ended
        assert world.reported.get(record.tx_id) is record.decision, f"{record.tx_id} never reported"
        states = {world.participant.get((record.tx_id, p), PState.NONE) for p in PARTICIPANTS}
        if record.decision is Outcome.COMMIT:
            assert states == {PState.COMMITTED}
        else:
            assert states <= {PState.ABORTED, PState.NONE}
    replica = DecisionLog()
    for index, entry in enumerate(world.entries, start=1):
        replica.apply(index, entry)
    assert replica.snapshot() == world.log.snapshot(), "a replica replaying the log holds the same state"
