"""Carries out one transaction's coordinator effects: log through Raft, call participants, report to the queue.

The coordinator core decides; this module only performs its effects and feeds back what happened. ENDs are not
awaited: they go to the term's EndBatcher, which logs them with a later entry (docs/two-phase-commit.md).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from order_executor.core import coordinator as c
from order_executor.core.decision_log import Applied, encode_begin, encode_decision, encode_ends
from order_executor.core.end_batch import EndBatchLimits
from order_executor.core.order import OrderSummary, Outcome
from order_executor.core.recovery import (
    Action,
    AlreadyRunning,
    PresumeAbort,
    ReportEnded,
    ResendDecision,
    RunNew,
    plan_for,
)
from order_executor.end_batcher import EndBatcher
from order_executor.faults import CrashHook, CrashPoint
from order_executor.participants import Fenced, IncarnationRefused, NoAnswer, Participant, Refused, VoteReply
from utils.raft.errors import NotLeader, RaftUnavailable
from utils.telemetry import meter

log = logging.getLogger(__name__)
_meter = meter("order_executor")
_outcomes = _meter.create_counter("executor_transactions", description="transactions finished, by outcome")
_durations = _meter.create_histogram(
    "executor_transaction_seconds", unit="s", description="BEGIN to the outcome reported, of one transaction"
)
_dropped = _meter.create_counter("executor_dropped_messages", description="late or unexpected 2PC messages")


class LostLeadership(Exception):
    """This replica is no longer the leader of the term it started the transaction in: stop at once."""


@dataclass(frozen=True, slots=True)
class Timing:
    prepare_timeout_s: float = 2.0  # every vote must arrive within this, or the decision is ABORT
    phase2_attempt_timeout_s: float = 2.0  # one Commit/Abort call
    phase2_backoff_initial_s: float = 0.1
    phase2_backoff_max_s: float = 2.0
    log_timeout_s: float = 3.0  # one proposal to the group's log
    ends: EndBatchLimits = EndBatchLimits()  # how long and how many ENDs wait for an entry to ride on


@dataclass
class Flight:
    """A transaction running on this leader (shown by Status)."""

    tx_id: str
    lease_id: str = ""
    phase: str = "NEW"
    started_at: float = field(default_factory=time.time)


@dataclass
class Session:
    """One leadership term of this replica: everything it runs stops when the term ends."""

    term: int
    stopped: threading.Event = field(default_factory=threading.Event)
    in_flight: dict[str, Flight] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    ends: EndBatcher | None = None  # made by the runner on first use; its ENDs die with the term


Propose = Callable[[bytes, float], Applied]  # RaftNode.propose
StillLeader = Callable[[int], bool]  # is this replica leader in this term?
Report = Callable[[OrderSummary, Outcome, str, str], None]  # (order, outcome, reason, lease id) → queue


class TransactionRunner:
    def __init__(
        self,
        propose: Propose,
        still_leader: StillLeader,
        participants: dict[str, Participant],
        report: Report,
        timing: Timing,
        crash: CrashHook,
        calls: ThreadPoolExecutor,
        fenced_out: Callable[[str], None] = lambda _refusal: None,
    ) -> None:
        self._propose_raw = propose
        self._still_leader = still_leader
        self._participants = participants
        self._report = report
        self._timing = timing
        self._crash = crash
        self._calls = calls  # participant RPCs run here, so a slow one never blocks the others
        self._fenced_out = fenced_out  # told when a participant refuses this group's incarnation

    # ---- entry points ---------------------------------------------------------------------------------------------
    def run_new(self, session: Session, flight: Flight, order: OrderSummary) -> None:
        """A freshly leased order: BEGIN, then whatever the log says (idempotent by order id)."""
        started = time.monotonic()
        tx = c.new_transaction(order.order_id, sorted(self._participants))
        effects, tx = c.step(tx, c.Begin(order))
        assert effects == [c.LogBegin(order)]
        applied = self._propose(session, encode_begin(order, self._ends(session).ride()), retry_means_ours=True)
        if applied.changed:
            self._drive(session, flight, tx, c.BeginDurable())
        else:
            self.run_action(session, flight, plan_for(order, applied.record, set()))
        _durations.record(time.monotonic() - started)

    def run_action(self, session: Session, flight: Flight, action: Action) -> None:
        """A transaction found in the log (recovery, or leased again): resume it, never restart it."""
        if isinstance(action, RunNew):
            self.run_new(session, flight, action.order)
        elif isinstance(action, ResendDecision):
            tx = c.new_transaction(action.order.order_id, sorted(self._participants))
            self._drive(session, flight, tx, c.Resume(action.order, action.outcome, action.reason))
        elif isinstance(action, PresumeAbort):
            tx = c.new_transaction(action.order.order_id, sorted(self._participants))
            self._drive(session, flight, tx, c.Resume(action.order, None))
        elif isinstance(action, ReportEnded):
            self._report(action.order, action.outcome, action.reason, flight.lease_id)
        else:
            assert isinstance(action, AlreadyRunning)

    def abort_unpriceable(self, session: Session, flight: Flight, order_id: str, reason: str) -> None:
        """An order this executor cannot price is aborted through the decision log like any other: ABORT is
        proposed (the first decision logged wins), then whatever the log holds is carried out and reported, so the
        queue never hears ABORTED for an order the log has COMMIT for (docs/design.md §4)."""
        applied = self._propose(session, encode_decision(order_id, Outcome.ABORT, reason, self._ends(session).ride()))
        record = applied.record
        assert record is not None and record.decision is not None, applied.error
        if record.decision is not Outcome.ABORT:
            log.error(
                "an unpriceable order has a logged decision: the log decides",
                extra={"tx_id": order_id, "decision": record.decision.value},
            )
        self.run_action(session, flight, plan_for(record.order, record, set()))

    # ---- the loop: step the core, carry out its effects, feed back the results -------------------------------------
    def _drive(self, session: Session, flight: Flight, tx: c.Transaction, first: c.Input) -> None:
        inputs: deque[c.Input] = deque([first])
        phase2_rounds = 0
        while inputs:
            self._check(session)
            msg = inputs.popleft()
            effects, tx = c.step(tx, msg)
            flight.phase = tx.phase.value
            if isinstance(msg, c.Phase2Timeout):
                phase2_rounds += 1
            inputs.extend(self._carry_out(session, flight, tx, effects, phase2_rounds))

    def _carry_out(
        self, session: Session, flight: Flight, tx: c.Transaction, effects: list[c.Effect], phase2_rounds: int
    ) -> list[c.Input]:
        assert tx.order is not None
        prepares = [e.participant for e in effects if isinstance(e, c.SendPrepare)]
        decisions = [e.participant for e in effects if isinstance(e, (c.SendCommit, c.SendAbort))]
        results: list[c.Input] = []
        for effect in effects:
            if isinstance(effect, c.LogDecision):
                self._crash.reached(CrashPoint.AFTER_PREPARE, tx.tx_id)
                rides = self._ends(session).ride()
                applied = self._propose(session, encode_decision(tx.tx_id, effect.outcome, effect.reason, rides))
                record = applied.record
                assert record is not None and record.decision is not None, applied.error
                log.info(
                    "decision durable",
                    extra={
                        "tx_id": tx.tx_id,
                        "outcome": record.decision.value,
                        "reason": record.reason,
                        "term": session.term,
                    },
                )
                results.append(c.DecisionDurable(record.decision, record.reason))
            elif isinstance(effect, c.LogEnd):
                self._ends(session).add(tx.tx_id)  # not awaited: a lost END costs one resend at recovery
            elif isinstance(effect, c.ReportOutcome):
                _outcomes.add(1, {"outcome": effect.outcome.value})
                log.info(
                    "transaction ended",
                    extra={
                        "tx_id": tx.tx_id,
                        "outcome": effect.outcome.value,
                        "reason": effect.reason,
                        "term": session.term,
                    },
                )
                self._report(tx.order, effect.outcome, effect.reason, flight.lease_id)
            elif isinstance(effect, c.Dropped):
                _dropped.add(1)
                log.info("late 2PC message dropped", extra={"tx_id": tx.tx_id, "why": effect.reason})
            elif isinstance(effect, c.LogBegin):
                raise AssertionError("BEGIN is logged by run_new before the core is driven")
        if prepares:
            results.extend(self._prepare_all(session, tx.order, prepares))
        if decisions:
            if phase2_rounds == 0:
                self._crash.reached(CrashPoint.AFTER_DECISION, tx.tx_id)
            results.extend(self._phase2(session, tx, decisions, phase2_rounds))
        return results

    # ---- phase 1 ----------------------------------------------------------------------------------------------------
    def _prepare_all(self, session: Session, order: OrderSummary, names: list[str]) -> list[c.Input]:
        timeout_s = self._timing.prepare_timeout_s
        futures: dict[Future[VoteReply], str] = {
            self._calls.submit(self._participants[name].prepare, order, session.term, timeout_s): name for name in names
        }
        deadline = time.monotonic() + timeout_s + 0.25  # the calls' own deadlines end first, with a clear error
        votes: list[c.Input] = []
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=max(0.0, deadline - time.monotonic()), return_when=FIRST_COMPLETED)
            if not done:
                return [*votes, c.PrepareTimeout()]
            for future in done:
                vote = self._vote_of(futures[future], future)
                votes.append(vote)
                if not vote.commit:
                    return votes  # one ABORT decides: no need to wait for the others
        return votes

    def _vote_of(self, name: str, future: Future[VoteReply]) -> c.Vote:
        try:
            reply = future.result()
        except IncarnationRefused as error:
            self._fenced_out(str(error))
            raise LostLeadership(str(error)) from None
        except Fenced as error:
            log.warning("fenced by a participant: deposed", extra={"participant": name, "error": str(error)})
            raise LostLeadership(str(error)) from None
        except NoAnswer as error:
            late = "DEADLINE_EXCEEDED" in str(error)
            reason = f"{name} did not answer prepare in time" if late else f"{name} unavailable"
            log.warning("no vote", extra={"participant": name, "error": str(error)})
            return c.Vote(name, False, reason)
        except Refused as error:
            log.error("prepare refused", extra={"participant": name, "error": str(error)})
            return c.Vote(name, False, f"{name} refused prepare")
        return c.Vote(name, reply.commit, reply.reason)

    # ---- phase 2 ----------------------------------------------------------------------------------------------------
    def _phase2(self, session: Session, tx: c.Transaction, names: list[str], rounds: int) -> list[c.Input]:
        commit = tx.outcome is Outcome.COMMIT
        timeout_s = self._timing.phase2_attempt_timeout_s

        def send(name: str) -> None:
            participant = self._participants[name]
            (participant.commit if commit else participant.abort)(tx.tx_id, session.term, timeout_s)

        if rounds == 0 and self._crash.armed(CrashPoint.DURING_PHASE2) and len(names) > 1:
            # Deterministic crash window: the first participant hears the decision, the others do not.
            send(names[0])
            self._crash.reached(CrashPoint.DURING_PHASE2, tx.tx_id)
        futures = {self._calls.submit(send, name): name for name in names}
        acks: list[c.Input] = []
        for future, name in futures.items():
            try:
                future.result()
                acks.append(c.Ack(name))
            except IncarnationRefused as error:
                self._fenced_out(str(error))
                raise LostLeadership(str(error)) from None
            except Fenced as error:
                log.warning("fenced by a participant: deposed", extra={"participant": name, "error": str(error)})
                raise LostLeadership(str(error)) from None
            except (NoAnswer, Refused) as error:
                # Refused here means the participant lost or contradicts a durable decision: loud, and retried.
                level = logging.ERROR if isinstance(error, Refused) else logging.WARNING
                log.log(
                    level,
                    "phase 2 not acknowledged",
                    extra={"tx_id": tx.tx_id, "participant": name, "round": rounds, "error": str(error)},
                )
        if len(acks) < len(names):
            delay_s = min(self._timing.phase2_backoff_max_s, self._timing.phase2_backoff_initial_s * 2**rounds)
            if session.stopped.wait(delay_s):
                raise LostLeadership("stopped while retrying phase 2")
            acks.append(c.Phase2Timeout())
        return acks

    # ---- the group's log ---------------------------------------------------------------------------------------------
    def _ends(self, session: Session) -> EndBatcher:
        with session.lock:
            if session.ends is None:
                session.ends = EndBatcher(
                    session.stopped,
                    lambda tx_ids: self._log_ends(session, tx_ids),
                    self._timing.ends,
                    name=f"ends-{session.term}",
                )
            return session.ends

    def _log_ends(self, session: Session, tx_ids: tuple[str, ...]) -> None:
        self._propose(session, encode_ends(tx_ids))

    def _propose(self, session: Session, command: bytes, retry_means_ours: bool = False) -> Applied:
        """Proposes until applied. Every command is idempotent in the log, so a retry after a timeout is safe."""
        retried = False
        while True:
            self._check(session)
            try:
                applied = self._propose_raw(command, self._timing.log_timeout_s)
            except NotLeader as error:
                raise LostLeadership(str(error)) from None
            except RaftUnavailable as error:
                log.warning("log write not confirmed, retrying", extra={"error": str(error), "term": session.term})
                retried = True
                session.stopped.wait(0.05)
                continue
            if applied.error:
                raise RuntimeError(f"the decision log refused a command: {applied.error}")
            if applied.ends_refused:
                # An END is handed over only after every ack, so after a decision: this is a bug, and loud.
                log.error("the decision log refused ENDs without a decision", extra={"txs": applied.ends_refused})
            record = applied.record
            if retried and retry_means_ours and not applied.changed and record is not None and record.decision is None:
                # Our first BEGIN may have committed before its reply timed out: treat it as ours and prepare.
                # Safe even if an earlier leader began it: no decision is logged, and Prepare is idempotent.
                return Applied(record, True)
            return applied

    def _check(self, session: Session) -> None:
        if session.stopped.is_set() or not self._still_leader(session.term):
            raise LostLeadership(f"no longer leader in term {session.term}")
