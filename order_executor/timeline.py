"""Records each transaction's 2PC steps on this replica (core/timeline.py's Journal) and serves them (GetTimeline).

Hooks that wrap, so the coordinator's code stays as it is: the decision log journals what it applies (every
replica: BEGIN, decision, END with index and term; a batched END under the entry that carried it), the participants
journal what the leader sends and hears (Prepare, votes, phase 2, acks, retries), the runner journals a recovery.
In memory and bounded (docs/drawings.md).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import grpc

from order_executor.core.decision_log import Applied, DecisionLog
from order_executor.core.order import OrderSummary
from order_executor.core.recovery import Action, PresumeAbort, ResendDecision
from order_executor.core.timeline import Journal, Kind, Step
from order_executor.participants import Participant, VoteReply
from order_executor.server import ExecutorServicer
from order_executor.transaction_runner import Flight, Session, TransactionRunner
from utils.pb.order_executor import order_executor_pb2 as pb
from utils.rpc.status import abort

TX_ID_CHARS_MAX = 128


class TimelineRecorder:
    """Thread-safe: the Raft apply thread, the 2PC call threads and the servicer all use it."""

    def __init__(self, node_id: str, journal: Journal | None = None, wall: Callable[[], float] = time.time) -> None:
        self.node_id = node_id
        self._journal = journal or Journal()
        self._wall = wall
        self._lock = threading.Lock()

    def record(self, tx_id: str, kind: Kind, **fields: Any) -> None:
        step = Step(kind, self._wall(), self.node_id, **fields)
        with self._lock:
            self._journal.add(tx_id, step)

    def steps(self, tx_id: str) -> tuple[tuple[Step, ...], int]:
        with self._lock:
            return self._journal.steps(tx_id), self._journal.dropped(tx_id)

    def rounds(self, tx_id: str, participant: str) -> int:
        """How many times phase 2 was already sent to `participant` for `tx_id` on this replica."""
        with self._lock:
            return sum(
                1
                for s in self._journal.steps(tx_id)
                if s.kind in (Kind.PHASE2_SENT, Kind.RETRY) and s.participant == participant
            )


def term_stamped(
    propose: Callable[[bytes, float], Applied], term_of: Callable[[], int]
) -> Callable[[bytes, float], Applied]:
    """The leader's propose, with its term written into the command: every replica that applies the entry then
    journals the term it was logged in, even one that applies it only after the leader died (in a later term).

    The decision log reads only the members it knows, so the extra member changes nothing it decides.
    """

    def stamped(command: bytes, timeout_s: float) -> Applied:
        body = json.loads(command)
        body["term"] = term_of()
        return propose(json.dumps(body, sort_keys=True).encode(), timeout_s)

    return stamped


class JournaledDecisionLog(DecisionLog):
    """The decision log, journaling each command that changed it: on every replica, so any of them can show it."""

    def __init__(self, recorder: TimelineRecorder) -> None:
        super().__init__()
        self._recorder = recorder
        self._term_of: Callable[[], int] = lambda: 0

    def attach_term(self, term_of: Callable[[], int]) -> None:
        """The replica's current term (a lock-free read of the node's status); the node is built after this log."""
        self._term_of = term_of

    def apply(self, index: int, command: bytes) -> Applied:
        applied = super().apply(index, command)
        record = applied.record if applied.changed else None
        if record is None and not applied.ended:
            return applied
        body = json.loads(command)
        op = body.get("op")
        # The proposing leader's term when it stamped one (exact), else this replica's (an upper bound).
        term = body.get("term") if isinstance(body.get("term"), int) else self._term_of()
        if record is not None:
            if op == "begin":
                self._recorder.record(record.tx_id, Kind.BEGIN_LOGGED, term=term, index=index)
            elif op == "decide" and record.decision is not None:
                detail = record.decision.value + (f": {record.reason}" if record.reason else "")
                self._recorder.record(record.tx_id, Kind.DECISION_LOGGED, term=term, index=index, detail=detail)
            elif op == "end":
                self._recorder.record(record.tx_id, Kind.END_LOGGED, term=term, index=index)
        for ended in applied.ended:  # ENDs batched into this entry: riding on a BEGIN or DECISION, or alone
            self._recorder.record(ended, Kind.END_LOGGED, term=term, index=index)
        return applied


class JournalingParticipant:
    """A participant as the coordinator sees it, journaling each call and its answer; errors pass through."""

    def __init__(self, inner: Participant, recorder: TimelineRecorder) -> None:
        self.name = inner.name
        self._inner = inner
        self._recorder = recorder

    def prepare(self, order: OrderSummary, term: int, timeout_s: float) -> VoteReply:
        tx_id = order.order_id
        self._recorder.record(tx_id, Kind.PREPARE_SENT, term=term, participant=self.name)
        try:
            reply = self._inner.prepare(order, term, timeout_s)
        except Exception as error:
            self._recorder.record(tx_id, Kind.VOTE, term=term, participant=self.name, detail=f"no vote: {error}")
            raise
        self._recorder.record(tx_id, Kind.VOTE, term=term, participant=self.name, ok=reply.commit, detail=reply.reason)
        return reply

    def commit(self, tx_id: str, term: int, timeout_s: float) -> None:
        self._phase2(tx_id, term, "COMMIT", lambda: self._inner.commit(tx_id, term, timeout_s))

    def abort(self, tx_id: str, term: int, timeout_s: float) -> None:
        self._phase2(tx_id, term, "ABORT", lambda: self._inner.abort(tx_id, term, timeout_s))

    def _phase2(self, tx_id: str, term: int, decision: str, send: Callable[[], None]) -> None:
        attempt = self._recorder.rounds(tx_id, self.name)
        kind = Kind.PHASE2_SENT if attempt == 0 else Kind.RETRY
        self._recorder.record(tx_id, kind, term=term, participant=self.name, detail=decision, round=attempt)
        try:
            send()
        except Exception as error:
            self._recorder.record(
                tx_id, Kind.ACK, term=term, participant=self.name, detail=f"not acknowledged: {error}", round=attempt
            )
            raise
        self._recorder.record(tx_id, Kind.ACK, term=term, participant=self.name, ok=True, round=attempt)


class JournalingRunner(TransactionRunner):
    """The runner, journaling a recovery: a leader resuming a transaction it found open in the log."""

    def attach_recorder(self, recorder: TimelineRecorder) -> None:
        self._timeline = recorder

    def run_action(self, session: Session, flight: Flight, action: Action) -> None:
        recorder: TimelineRecorder | None = getattr(self, "_timeline", None)
        if recorder is not None and isinstance(action, (ResendDecision, PresumeAbort)):
            plan = (
                f"resend the logged decision {action.outcome.value}"
                if isinstance(action, ResendDecision)
                else "no decision logged: presume abort"
            )
            recorder.record(action.order.order_id, Kind.RECOVERY, term=session.term, detail=plan)
        super().run_action(session, flight, action)


class TimelineServicer(ExecutorServicer):
    """The executor service with GetTimeline: this replica's journal of one transaction."""

    def __init__(self, *args: Any, recorder: TimelineRecorder, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._recorder = recorder

    def GetTimeline(self, request: pb.GetTimelineRequest, context: grpc.ServicerContext) -> pb.GetTimelineReply:
        if not request.tx_id or len(request.tx_id) > TX_ID_CHARS_MAX:
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, f"tx_id must be 1..{TX_ID_CHARS_MAX} characters")
        steps, dropped = self._recorder.steps(request.tx_id)
        return pb.GetTimelineReply(
            node_id=self._recorder.node_id, entries=[step_to_proto(s) for s in steps], dropped=dropped
        )


def step_to_proto(step: Step) -> pb.TimelineEntry:
    return pb.TimelineEntry(
        kind=step.kind.value,
        at_s=step.at_s,
        node_id=step.node_id,
        term=step.term,
        index=step.index,
        participant=step.participant,
        ok=step.ok,
        detail=step.detail,
        round=step.round,
    )
