"""The payment service over real gRPC on port 0: tokenization, 2PC calls, fencing, durability, fault injection.

The ledger is a SQLite file in a temporary folder; "restart" reopens it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from payment_service.core.ledger import Limits, PaymentState
from payment_service.server import SERVICE_NAME, Faults, PaymentServicer
from payment_service.store import LedgerStore
from testing.pki import RoutedChannel
from utils.pb.payment_service import payment_service_pb2 as pb
from utils.pb.payment_service import payment_service_pb2_grpc as pb_grpc
from utils.rpc.server import GrpcService

CARD = "4111 1111 1111 1111"
DECLINED = "4000000000000002"


class Running:
    def __init__(self, path: Path, faults: Faults = Faults(), limits: Limits = Limits()) -> None:
        self.store = LedgerStore(path)
        servicer = PaymentServicer(self.store, b"k" * 32, limits, faults, random.Random(7))
        self.service = GrpcService(
            "payment_service",
            "127.0.0.1:0",
            [lambda s: pb_grpc.add_PaymentServiceServicer_to_server(servicer, s)],
            [SERVICE_NAME],
            shutdown_grace_s=0.2,
            identity="payment_service",
        )
        port = self.service.start()
        self.channel = RoutedChannel(f"127.0.0.1:{port}", "payment_service")
        self.stub = pb_grpc.PaymentServiceStub(self.channel)

    def close(self) -> None:
        self.channel.close()
        self.service.stop()
        self.store.close()

    def token(self, number: str = CARD, order: str = "o1", cents: int = 4999) -> str:
        request = pb.TokenizeRequest(
            card_number=number, expiration_date="12/2030", order_id=order, amount_cents_max=cents
        )
        return str(self.stub.Tokenize(request, timeout=2).token)

    def prepare(self, tx: str, token: str, cents: int = 4999, term: int = 1) -> pb.PrepareReply:
        reply: pb.PrepareReply = self.stub.Prepare(
            pb.PrepareRequest(tx_id=tx, token=token, amount_cents=cents, coordinator_term=term), timeout=5
        )
        return reply

    def commit(self, tx: str, term: int = 1) -> pb.DecisionReply:
        reply: pb.DecisionReply = self.stub.Commit(pb.DecisionRequest(tx_id=tx, coordinator_term=term), timeout=2)
        return reply

    def abort(self, tx: str, term: int = 1) -> pb.DecisionReply:
        reply: pb.DecisionReply = self.stub.Abort(pb.DecisionRequest(tx_id=tx, coordinator_term=term), timeout=2)
        return reply

    def state(self, tx: str) -> int:
        return int(self.stub.GetPayment(pb.GetPaymentRequest(tx_id=tx), timeout=2).state)


@pytest.fixture
def svc(tmp_path: Path) -> Iterator[Running]:
    running = Running(tmp_path / "ledger.sqlite3")
    yield running
    running.close()


def test_tokenize_keeps_only_the_token_last_four_and_a_fingerprint(svc: Running, tmp_path: Path) -> None:
    request = pb.TokenizeRequest(card_number=CARD, expiration_date="12/30", order_id="o1", amount_cents_max=100)
    reply = svc.stub.Tokenize(request, timeout=2)
    assert reply.card_last4 == "1111" and reply.token.startswith("tok_")
    other = svc.stub.Tokenize(request, timeout=2)
    assert other.token != reply.token
    first, second = svc.store.token(reply.token), svc.store.token(other.token)
    assert first is not None and second is not None and first.fingerprint == second.fingerprint
    svc.store.close()
    svc.store = LedgerStore(tmp_path / "ledger.sqlite3")  # flush WAL into view, then scan every byte on disk
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert b"4111111111111111" not in raw and b"4111 1111 1111 1111" not in raw


def test_tokenize_rejects_a_malformed_number_without_echoing_it(svc: Running) -> None:
    with pytest.raises(grpc.RpcError) as error:
        svc.stub.Tokenize(
            pb.TokenizeRequest(
                card_number="4111-abcd-9999", expiration_date="12/30", order_id="o1", amount_cents_max=1
            ),
            timeout=2,
        )
    assert error.value.code() is grpc.StatusCode.INVALID_ARGUMENT and "9999" not in str(error.value.details())


def test_prepare_then_commit_captures_once(svc: Running) -> None:
    token = svc.token()
    assert svc.prepare("o1", token).vote == pb.VOTE_COMMIT
    assert svc.state("o1") == pb.PAYMENT_STATE_PREPARED
    first, second = svc.commit("o1"), svc.commit("o1")
    assert (first.state, first.changed) == (pb.PAYMENT_STATE_CAPTURED, True)
    assert (second.state, second.changed) == (pb.PAYMENT_STATE_CAPTURED, False)
    payment = svc.stub.GetPayment(pb.GetPaymentRequest(tx_id="o1"), timeout=2)
    assert (payment.amount_cents, payment.card_last4) == (4999, "1111")


def test_declined_test_card_votes_abort_with_a_reason(svc: Running) -> None:
    reply = svc.prepare("o1", svc.token(DECLINED))
    assert (reply.vote, reply.reason, reply.state) == (pb.VOTE_ABORT, "card declined", pb.PAYMENT_STATE_VOIDED)


def test_amount_over_the_limit_votes_abort(tmp_path: Path) -> None:
    running = Running(tmp_path / "l.sqlite3", limits=Limits(amount_cents_max=1000))
    try:
        reply = running.prepare("o1", running.token(cents=1001), cents=1001)
        assert reply.vote == pb.VOTE_ABORT and "limit" in reply.reason
    finally:
        running.close()


def test_stale_prepare_after_abort_and_abort_after_commit_change_nothing(svc: Running) -> None:
    token = svc.token()
    svc.abort("o1")  # the coordinator gave up before the Prepare arrived
    late = svc.prepare("o1", token)
    assert (late.vote, svc.state("o1")) == (pb.VOTE_ABORT, pb.PAYMENT_STATE_VOIDED)
    svc.prepare("o2", svc.token(order="o2"))
    svc.commit("o2")
    with pytest.raises(grpc.RpcError) as error:
        svc.abort("o2")
    assert error.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert svc.state("o2") == pb.PAYMENT_STATE_CAPTURED


def test_commit_after_abort_is_refused(svc: Running) -> None:
    svc.prepare("o1", svc.token())
    svc.abort("o1")
    with pytest.raises(grpc.RpcError) as error:
        svc.commit("o1")
    assert error.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert svc.state("o1") == pb.PAYMENT_STATE_VOIDED


def test_fencing_refuses_an_older_term_and_remembers_the_newest_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    running = Running(path)
    token = running.token()
    running.prepare("o1", token, term=5)
    running.close()
    running = Running(path)  # restart: the PREPARED hold and the fence are both on disk
    try:
        assert running.state("o1") == pb.PAYMENT_STATE_PREPARED
        with pytest.raises(grpc.RpcError) as error:
            running.commit("o1", term=4)
        assert error.value.code() is grpc.StatusCode.FAILED_PRECONDITION and "stale" in str(error.value.details())
        assert running.state("o1") == pb.PAYMENT_STATE_PREPARED
        assert running.commit("o1", term=6).state == pb.PAYMENT_STATE_CAPTURED
    finally:
        running.close()


def test_fault_unreachable_answers_unavailable_to_2pc_calls(tmp_path: Path) -> None:
    running = Running(tmp_path / "l.sqlite3", faults=Faults(unreachable=True))
    try:
        token = running.token()  # tokenization is not a 2PC call
        with pytest.raises(grpc.RpcError) as error:
            running.prepare("o1", token)
        assert error.value.code() is grpc.StatusCode.UNAVAILABLE
    finally:
        running.close()


def test_fault_decline_percent_100_declines_every_fresh_prepare(tmp_path: Path) -> None:
    running = Running(tmp_path / "l.sqlite3", faults=Faults(decline_percent=100))
    try:
        reply = running.prepare("o1", running.token())
        assert reply.vote == pb.VOTE_ABORT and "injected" in reply.reason
    finally:
        running.close()


def test_fault_delay_makes_a_prepare_miss_its_deadline_and_the_late_prepare_votes_abort(tmp_path: Path) -> None:
    running = Running(tmp_path / "l.sqlite3", faults=Faults(delay_ms=600))
    try:
        token = running.token()
        future = running.stub.Prepare.future(
            pb.PrepareRequest(tx_id="o1", token=token, amount_cents=100, coordinator_term=1), timeout=0.2
        )
        with pytest.raises(grpc.RpcError) as error:
            future.result()
        assert error.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
        running.abort("o1")  # the coordinator decided ABORT meanwhile
        late = running.prepare("o1", token)  # waits its 600 ms, then finds the abort
        assert late.vote == pb.VOTE_ABORT
        assert running.store.get("o1") is not None
        stored = running.store.get("o1")
        assert stored is not None and stored.record.state is PaymentState.VOIDED
    finally:
        running.close()
