"""The executor group's servicer: Status of this replica, and GetDecision for participants in doubt.

GetDecision is answered by the leader from a linearizable read; followers redirect (x-leader-address).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import grpc

from order_executor.core.decision_log import Applied, DecisionLog, encode_decision
from order_executor.core.order import Outcome, TxRecord
from order_executor.transaction_runner import Flight
from utils.pb.order_executor import order_executor_pb2 as pb
from utils.pb.order_executor import order_executor_pb2_grpc as pb_grpc
from utils.raft.errors import NotLeader, RaftUnavailable
from utils.raft.node import RaftNode
from utils.rpc.status import RaftErrorWire, Unavailability, abort, abort_for_raft_error
from utils.twopc.core.participant import INCARNATION_CHANGED, OPERATOR_COMMAND

log = logging.getLogger(__name__)
SERVICE_NAME = "bookstore.order_executor.OrderExecutor"
NO_RECORD_REASON = "presumed abort: the coordinator never began this transaction"
_DECISION_TO_PB = {Outcome.COMMIT: pb.DECISION_COMMIT, Outcome.ABORT: pb.DECISION_ABORT}
# GetDecision's ABORT is idempotent and its callers ask the next replica on any UNAVAILABLE: no outcome to say.
RAFT_ERROR_WIRE = RaftErrorWire(Unavailability.PLAIN)


class ExecutorServicer(pb_grpc.OrderExecutorServicer):
    def __init__(
        self,
        node: RaftNode,
        in_flight: Callable[[], list[Flight]],
        fenced_out: Callable[[], str] = str,
    ) -> None:
        self._node = node
        self._in_flight = in_flight
        self._fenced_out = fenced_out

    def Status(self, request: pb.StatusRequest, context: grpc.ServicerContext) -> pb.StatusReply:
        status = self._node.status()
        begun = still_open = 0
        incarnation = ""
        if status.running:
            try:
                _, (begun, still_open, incarnation) = self._node.read_local(lambda sm: (*sm.counts(), sm.incarnation))
            except RaftUnavailable:
                pass
        now = time.time()
        flights = sorted(self._in_flight(), key=lambda f: f.started_at)
        return pb.StatusReply(
            node_id=self._node.node_id,
            role=status.role.value if status.running else "stopped",
            term=status.term,
            leader_id=status.leader_id or "",
            leader_address=status.leader_address or "",
            commit_index=status.commit_index,
            applied_index=status.applied_index,
            last_log_index=status.last_index,
            in_flight=[
                pb.InFlightTransaction(tx_id=f.tx_id, phase=f.phase, age_s=round(now - f.started_at, 3))
                for f in flights
            ],
            transactions_begun=begun,
            transactions_open=still_open,
            incarnation=incarnation,
            fenced_out=self._fenced_out(),
        )

    def GetDecision(self, request: pb.GetDecisionRequest, context: grpc.ServicerContext) -> pb.GetDecisionReply:
        if not request.tx_id:
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, "tx_id is required")
        timeout_s = max(0.1, (context.time_remaining() or 2.0) - 0.05)
        try:
            record, incarnation = self._node.read(
                lambda sm: (_record(sm, request.tx_id), sm.incarnation), timeout_s=timeout_s
            )
            if request.incarnation and request.incarnation != incarnation:
                # Another incarnation's transaction: this group never knew it, so it must not presume abort on it
                # (the old group may have committed it at the other participant). Nothing is logged.
                log.warning(
                    "decision asked by a participant of another incarnation",
                    extra={"tx_id": request.tx_id, "asker_follows": request.incarnation, "ours": incarnation},
                )
                abort(
                    context,
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"{INCARNATION_CHANGED}: the participant follows {request.incarnation}, this group is "
                    f"{incarnation or 'not yet incarnated'}; resolve with `{OPERATOR_COMMAND}`",
                    reason="INCARNATION_CHANGED",
                )
            if record is None:
                # Nobody began it here, so nobody can commit it: log ABORT first, so a later lease finds it decided.
                applied: Applied = self._node.propose(
                    encode_decision(request.tx_id, Outcome.ABORT, NO_RECORD_REASON), timeout_s=timeout_s
                )
                record = applied.record
            term = self._node.status().term
        except (NotLeader, RaftUnavailable) as error:
            abort_for_raft_error(context, error, RAFT_ERROR_WIRE)
        decision = record.decision if record is not None else None
        log.info(
            "decision asked", extra={"tx_id": request.tx_id, "decision": decision.value if decision else "UNKNOWN"}
        )
        return pb.GetDecisionReply(
            decision=_DECISION_TO_PB[decision] if decision else pb.DECISION_UNKNOWN,
            reason=record.reason if record is not None else "",
            term=term,
            incarnation=incarnation,
        )


def _record(sm: Any, tx_id: str) -> TxRecord | None:
    assert isinstance(sm, DecisionLog)
    return sm.record(tx_id)
