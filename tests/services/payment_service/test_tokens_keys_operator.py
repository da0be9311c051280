"""Payment tokens bound to one order and its total; the fingerprint key outside the ledger; owner-only files; the
operator's recovery (resolve, adopt) over real gRPC: docs/operations.md."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from order_executor.recover import OperatorParticipant, recover
from payment_service.keys import KEY_FILE, KEY_NAME, load_fingerprint_key
from payment_service.store import LedgerStore, TokenRecord
from tests.services.payment_service.test_payment_service import Running
from utils.datafiles import secure_process_files
from utils.pb.payment_service import payment_service_pb2 as pb
from utils.pb.twopc import twopc_pb2 as twopc_pb


@pytest.fixture
def svc(tmp_path: Path) -> Iterator[Running]:
    running = Running(tmp_path / "ledger.sqlite3")
    yield running
    running.close()


def test_a_token_pays_for_its_own_order_only_up_to_its_amount_and_once(svc: Running) -> None:
    token = svc.token(order="o1", cents=4999)
    other = svc.prepare("o2", token, cents=4999)
    assert other.vote == pb.VOTE_ABORT and "another order" in other.reason
    larger = svc.prepare("o4", svc.token(order="o4", cents=100), cents=101)
    assert larger.vote == pb.VOTE_ABORT and "authorised at checkout" in larger.reason
    assert svc.prepare("o1", token).vote == pb.VOTE_COMMIT  # its own order, within its amount
    assert svc.commit("o1").state == pb.PAYMENT_STATE_CAPTURED
    assert svc.prepare("o5", token, cents=1).vote == pb.VOTE_ABORT  # captured once: never again elsewhere


def test_idempotent_repeats_of_the_same_prepare_and_commit_still_succeed(svc: Running) -> None:
    token = svc.token(order="o3", cents=4999)
    assert svc.prepare("o3", token).vote == pb.VOTE_COMMIT
    assert svc.prepare("o3", token).vote == pb.VOTE_COMMIT  # a 2PC retry
    assert svc.commit("o3").state == pb.PAYMENT_STATE_CAPTURED
    again = svc.commit("o3")
    assert (again.state, again.changed) == (pb.PAYMENT_STATE_CAPTURED, False)


def test_a_token_from_before_binding_is_used_by_one_transaction_only(tmp_path: Path) -> None:
    running = Running(tmp_path / "ledger.sqlite3")
    try:
        # A token stored by an older version has no order and no amount: it may serve one transaction only.
        token = "tok_from_before"
        running.store.save_token(TokenRecord(token, "1111", "fingerprint", False, "12/30"))
        assert running.prepare("a", token).vote == pb.VOTE_COMMIT
        second = running.prepare("b", token)
        assert second.vote == pb.VOTE_ABORT and "already used" in second.reason
    finally:
        running.close()


def test_tokenize_needs_the_order_and_its_amount(svc: Running) -> None:
    for request in (
        pb.TokenizeRequest(card_number="4111111111111111", amount_cents_max=100),
        pb.TokenizeRequest(card_number="4111111111111111", order_id="o1"),
    ):
        with pytest.raises(grpc.RpcError) as error:
            svc.stub.Tokenize(request, timeout=2)
        assert error.value.code() is grpc.StatusCode.INVALID_ARGUMENT


def test_the_fingerprint_key_moves_out_of_an_older_ledger_and_is_owner_only(tmp_path: Path) -> None:
    folder = tmp_path / "payment_service"
    folder.mkdir(mode=0o755)
    db = sqlite3.connect(folder / "ledger.sqlite3")
    db.executescript("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);")
    legacy = "ab" * 32
    db.execute("INSERT INTO meta VALUES (?, ?)", (f"secret:{KEY_NAME}", legacy))
    db.commit()
    db.close()
    os.chmod(folder / "ledger.sqlite3", 0o644)
    secure_process_files(tmp_path, folder)
    store = LedgerStore(folder / "ledger.sqlite3")
    try:
        assert load_fingerprint_key(folder, store) == legacy.encode()  # the same fingerprints as before
        assert store.legacy_secret(KEY_NAME) is None
    finally:
        store.close()
    ledger_bytes = b"".join(p.read_bytes() for p in folder.iterdir() if p.name.startswith("ledger"))
    assert legacy.encode() not in ledger_bytes
    assert (folder / KEY_FILE).read_text() == legacy
    for path in [tmp_path, *tmp_path.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"


def _invoke(stub: Any) -> Any:
    return lambda method, request: getattr(stub, method)(request, timeout=5)


class FakeBooks:
    """The books participant's operator view, as a table (the real one is tested in tests/core)."""

    def __init__(self, states: dict[str, Any]) -> None:
        self.states, self.resolved, self.adopted = states, [], ""  # type: ignore[var-annotated]

    def __call__(self, method: str, request: Any) -> Any:
        if method == "OperatorListInDoubt":
            rec = twopc_pb.TxStateRecord
            return twopc_pb.OperatorListInDoubtReply(
                in_doubt=[rec(tx_id=t, state=s) for t, s in self.states.items() if s == twopc_pb.TX_STATE_PREPARED],
                asked=[rec(tx_id=t, state=self.states.get(t, twopc_pb.TX_STATE_NONE)) for t in request.tx_ids],
            )
        if method == "OperatorResolve":
            self.resolved.append((request.tx_id, request.commit))
            self.states[request.tx_id] = twopc_pb.TX_STATE_COMMITTED if request.commit else twopc_pb.TX_STATE_ABORTED
            return twopc_pb.OperatorResolveReply(state=self.states[request.tx_id], changed=True)
        self.adopted = request.incarnation
        return twopc_pb.OperatorAdoptIncarnationReply(after=twopc_pb.Fence(incarnation=request.incarnation))


def test_recovery_resolves_from_the_participants_records_then_adopts(svc: Running) -> None:
    old = "old-incarnation"
    for tx in ("committed-at-books", "prepared-only"):
        request = pb.PrepareRequest(
            tx_id=tx, token=svc.token(order=tx), amount_cents=4999, coordinator_term=9, incarnation=old
        )
        assert svc.stub.Prepare(request, timeout=5).vote == pb.VOTE_COMMIT
    with pytest.raises(grpc.RpcError) as refused:  # the wiped group's first message
        svc.stub.Commit(pb.DecisionRequest(tx_id="prepared-only", coordinator_term=1, incarnation="new"), timeout=5)
    assert refused.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "python -m order_executor.recover" in str(refused.value.details())
    books = FakeBooks({"committed-at-books": twopc_pb.TX_STATE_COMMITTED, "prepared-only": twopc_pb.TX_STATE_PREPARED})
    lines: list[str] = []
    report = recover(
        [OperatorParticipant("books_database", books), OperatorParticipant("payment_service", _invoke(svc.stub))],
        "new",
        say=lines.append,
    )
    assert report.adopted == "new" and not report.problems
    assert svc.state("committed-at-books") == pb.PAYMENT_STATE_CAPTURED  # committed at one → at all
    assert svc.state("prepared-only") == pb.PAYMENT_STATE_VOIDED
    assert books.resolved == [("prepared-only", False)] and books.adopted == "new"
    # The new group is admitted from its first term; the old one no longer is.
    assert svc.stub.GetFence(twopc_pb.GetFenceRequest(), timeout=2).incarnation == "new"
    fresh = svc.token(order="after")
    reply = svc.stub.Prepare(
        pb.PrepareRequest(tx_id="after", token=fresh, amount_cents=4999, coordinator_term=1, incarnation="new"),
        timeout=5,
    )
    assert reply.vote == pb.VOTE_COMMIT
