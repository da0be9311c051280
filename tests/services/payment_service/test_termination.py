"""Cooperative termination: an in-doubt PREPARED payment asks the executor group (following redirects) and obeys.

Two fake executor replicas on port 0: a follower that redirects, and a leader that answers from a table.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from payment_service.core.ledger import CardFacts, PaymentState, Prepare, step
from payment_service.decision_client import DecisionAnswer, DecisionUnavailable, ExecutorDecisionClient
from payment_service.store import LedgerStore
from payment_service.termination import TerminationPace, Terminator
from testing.pki import harness_tls
from utils.pb.order_executor import order_executor_pb2 as pb
from utils.pb.order_executor import order_executor_pb2_grpc as pb_grpc
from utils.rpc.server import GrpcService

CARD = CardFacts("tok", "1111", False)


class FakeExecutor(pb_grpc.OrderExecutorServicer):
    def __init__(self) -> None:
        self.leader_address = ""  # empty: this replica is the leader
        self.decisions: dict[str, pb.Decision] = {}
        self.asked: list[str] = []

    def GetDecision(self, request: pb.GetDecisionRequest, context: grpc.ServicerContext) -> pb.GetDecisionReply:
        self.asked.append(request.tx_id)
        if self.leader_address:
            context.set_trailing_metadata((("x-leader-id", "executor-2"), ("x-leader-address", self.leader_address)))
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "not the leader")
        return pb.GetDecisionReply(decision=self.decisions.get(request.tx_id, pb.DECISION_UNKNOWN), term=7)


@pytest.fixture
def group() -> Iterator[tuple[FakeExecutor, FakeExecutor, dict[str, str]]]:
    follower, leader = FakeExecutor(), FakeExecutor()
    services = [
        GrpcService(
            f"exec{i}",
            "127.0.0.1:0",
            [lambda s, f=fake: pb_grpc.add_OrderExecutorServicer_to_server(f, s)],  # type: ignore[misc]
            ["bookstore.order_executor.OrderExecutor"],
            shutdown_grace_s=0.1,
            identity=f"executor-{i}",
        )
        for i, fake in enumerate((follower, leader))
    ]
    ports = [s.start() for s in services]
    follower.leader_address = f"127.0.0.1:{ports[1]}"
    # "executor-0" sorts first, so the client tries the follower first and must follow its redirect.
    yield follower, leader, {"executor-0": f"127.0.0.1:{ports[0]}", "executor-1": f"127.0.0.1:{ports[1]}"}
    for service in services:
        service.stop()


def prepared_store(tmp_path: Path, *txs: str) -> LedgerStore:
    store = LedgerStore(tmp_path / "ledger.sqlite3")
    for tx in txs:
        store.transact(tx, lambda r, t, tx=tx: step(r, t, Prepare(tx, 100, 3, CARD)))  # type: ignore[misc]
    return store


def test_in_doubt_payments_follow_the_groups_decision(
    group: tuple[FakeExecutor, FakeExecutor, dict[str, str]], tmp_path: Path
) -> None:
    follower, leader, peers = group
    leader.decisions = {"o1": pb.DECISION_COMMIT, "o2": pb.DECISION_ABORT}
    store = prepared_store(tmp_path, "o1", "o2", "o3")
    client = ExecutorDecisionClient(peers, tls=harness_tls("payment_service"))
    terminator = Terminator(store, client.get_decision, TerminationPace(after_s=0.0, interval_s=0.1))
    assert terminator.scan_once() == 2
    states = {tx: store.get(tx).record.state for tx in ("o1", "o2", "o3")}  # type: ignore[union-attr]
    assert states == {"o1": PaymentState.CAPTURED, "o2": PaymentState.VOIDED, "o3": PaymentState.PREPARED}
    assert follower.asked and set(leader.asked) == {"o1", "o2", "o3"}
    assert store.term_seen() == 7


def test_undecided_stays_prepared_and_backs_off(tmp_path: Path) -> None:
    now = [time.time()]
    asked: list[str] = []

    def ask(tx: str) -> DecisionAnswer:
        asked.append(tx)
        return DecisionAnswer(None, "", 1)

    store = prepared_store(tmp_path, "o1")
    terminator = Terminator(
        store, ask, TerminationPace(after_s=0.0, interval_s=1.0, backoff_max_s=4.0), clock=lambda: now[0]
    )
    for _ in range(20):  # 20 scans, one second apart
        terminator.scan_once()
        now[0] += 1.0
    stored = store.get("o1")
    assert stored is not None and stored.record.state is PaymentState.PREPARED, "never aborts on its own"
    assert 4 <= len(asked) <= 8, f"asked {len(asked)} times in 20 s: backoff 2, 4, 4, ... expected"


def test_a_payment_not_yet_in_doubt_is_not_asked_about(tmp_path: Path) -> None:
    asked: list[str] = []
    store = prepared_store(tmp_path, "o1")
    terminator = Terminator(
        store,
        lambda tx: asked.append(tx) or DecisionAnswer("COMMIT", "", 1),  # type: ignore[func-returns-value]
        TerminationPace(after_s=3600.0),
    )
    assert terminator.scan_once() == 0 and asked == []


def test_no_replica_answering_raises_decision_unavailable() -> None:
    client = ExecutorDecisionClient({"a": "127.0.0.1:1"}, timeout_s=0.3)
    with pytest.raises(DecisionUnavailable):
        client.get_decision("o1")
