"""Attacks on a running fleet's internal gRPC ports, as anyone who can reach them would try (docs/trust.md):
every mutating RPC of the execution path without a certificate and with a valid certificate of the wrong identity
is refused with the right code and changes nothing; forged Raft messages are refused; a huge coordinator term from
a non-executor is ignored; the fleet still commits orders afterwards. The validation services' RPCs and the queue's
lease RPCs with a live lease are attacked in test_lease_and_flow_attacks.py; test_attack_surface.py checks that the
two lists together attack every mutating RPC the protos declare.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from testing.fleet_env import EXECUTION, FLEET_ENV
from testing.local_fleet import Shop, running_fleet
from testing.orders import queue_order
from tests.e2e.execution import book
from tests.security.attack_kit import HUGE_TERM, STRANGER, Attack, code_of, unexpected_codes
from utils.pb.books_database import books_database_pb2 as books_pb
from utils.pb.books_database import books_database_pb2_grpc as books_grpc
from utils.pb.orchestrator import flow_report_pb2 as report_pb
from utils.pb.order_executor import order_executor_pb2 as exec_pb
from utils.pb.order_queue import order_queue_pb2 as queue_pb
from utils.pb.payment_service import payment_service_pb2 as pay_pb
from utils.pb.payment_service import payment_service_pb2_grpc as pay_grpc
from utils.pb.raft import raft_pb2 as raft_pb
from utils.pb.raft import raft_pb2_grpc as raft_grpc
from utils.pb.twopc import twopc_pb2 as twopc_pb
from utils.rpc.client import open_channel
from utils.tls import FleetTls
from utils.tls.fleet import ensure_fleet_pki

pytestmark = [pytest.mark.fleet, pytest.mark.timeout(240)]
TX = "attack-tx"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    with running_fleet(tmp_path_factory.mktemp("attacks"), only=EXECUTION, extra_env=FLEET_ENV) as rf:
        ensure_fleet_pki(rf.fleet.data_dir, [STRANGER])  # the CA issues it: valid, and named by no rule
        running = Shop(rf)
        running.executor_leader()
        yield running
        running.close()


def attacks(book_id: str) -> list[Attack]:
    pay, books, queue = (
        "/bookstore.payment_service.PaymentService/",
        "/bookstore.books_database.BooksDatabase/",
        "/bookstore.order_queue.OrderQueue/",
    )
    order = queue_order("attack-order", [(book_id, 1)], "tok", "1111", "standard")
    adopt = twopc_pb.OperatorAdoptIncarnationRequest(incarnation="forged", coordinator_term=HUGE_TERM)
    commit = queue_pb.AckRequest(order_id="o", lease_id="l", outcome=queue_pb.COMMITTED)
    approve = report_pb.FlowOutcome(order_id="attack-order", status=report_pb.FLOW_STATUS_APPROVED)
    return [
        Attack(
            "payment_service", f"{pay}Tokenize", pay_pb.TokenizeRequest(card_number="4111111111111111"), ("operator",)
        ),
        Attack(
            "payment_service", f"{pay}Prepare", pay_pb.PrepareRequest(tx_id=TX, amount_cents=10**6), ("orchestrator",)
        ),
        Attack(
            "payment_service",
            f"{pay}Commit",
            pay_pb.DecisionRequest(tx_id=TX, coordinator_term=HUGE_TERM),
            ("books-1",),
        ),
        Attack(
            "payment_service",
            f"{pay}Abort",
            pay_pb.DecisionRequest(tx_id=TX, coordinator_term=HUGE_TERM),
            ("orchestrator",),
        ),
        Attack("payment_service", f"{pay}OperatorAdoptIncarnation", adopt, ("executor-1",)),
        Attack(
            "payment_service",
            f"{pay}OperatorResolve",
            twopc_pb.OperatorResolveRequest(tx_id=TX, commit=True),
            ("executor-1",),
        ),
        Attack(
            "books-1",
            f"{books}DecrementStock",
            books_pb.StockChangeRequest(book_id=book_id, amount=1),
            ("executor-1", "orchestrator"),  # the gateway only increments
        ),
        Attack(
            "books-1",
            f"{books}IncrementStock",
            books_pb.StockChangeRequest(book_id=book_id, amount=1),
            ("payment_service",),
        ),
        Attack(
            "books-1",
            f"{books}PrepareTransaction",
            books_pb.PrepareRequest(tx_id=TX, items=[books_pb.Item(book_id=book_id, quantity=1)], coordinator_term=1),
            ("orchestrator",),
        ),
        Attack(
            "books-1",
            f"{books}CommitTransaction",
            books_pb.CommitRequest(tx_id=TX, coordinator_term=HUGE_TERM),
            ("operator",),
        ),
        Attack(
            "books-1",
            f"{books}AbortTransaction",
            books_pb.AbortRequest(tx_id=TX, coordinator_term=HUGE_TERM),
            ("payment_service",),
        ),
        Attack("books-1", f"{books}OperatorAdoptIncarnation", adopt, ("executor-1",)),
        Attack(
            "books-1",
            f"{books}OperatorResolve",
            twopc_pb.OperatorResolveRequest(tx_id=TX, commit=True),
            ("executor-1",),
        ),
        Attack("order_queue", f"{queue}Enqueue", queue_pb.EnqueueRequest(order=order), ("executor-1",)),
        Attack(
            "order_queue",
            f"{queue}RecordRejected",
            queue_pb.RecordRejectedRequest(order=order, reason="x"),
            ("operator",),
        ),
        # The lease RPCs here meet an empty queue; test_lease_and_flow_attacks.py attacks them with a queued order
        # and with a live lease id, where an accepted call would visibly change the order.
        Attack(
            "order_queue",
            f"{queue}LeaseBatch",
            queue_pb.LeaseBatchRequest(worker_id="thief", lease_s=30, count_max=8),
            ("orchestrator", "operator"),
        ),
        Attack("order_queue", f"{queue}AckBatch", queue_pb.AckBatchRequest(acks=[commit]), ("orchestrator", "books-1")),
        Attack("order_queue", f"{queue}Nack", queue_pb.NackRequest(order_id="o", lease_id="l"), ("orchestrator",)),
        Attack(
            "order_queue",
            f"{queue}SetState",
            queue_pb.SetStateRequest(order_id="o", state=queue_pb.COMMITTED),
            ("orchestrator",),
        ),
        Attack(
            "executor-1",
            "/bookstore.order_executor.OrderExecutor/GetDecision",
            exec_pb.GetDecisionRequest(tx_id=TX),
            ("orchestrator", "executor-2"),  # only the participants in doubt ask
        ),
        # A forged outcome would answer a waiting checkout: only the validation services report.
        Attack(
            "orchestrator",
            "/bookstore.orchestrator.FlowReport/Report",
            approve,
            ("order_queue", "executor-1", "operator"),
            address_key="orchestrator_flow_addr",
        ),
        Attack(
            "executor-1",
            "/bookstore.raft.Raft/TimeoutNow",
            raft_pb.TimeoutNowRequest(leader_id="executor-2", recipient_id="executor-1", term=HUGE_TERM),
            ("books-1",),
        ),
        Attack(
            "books-1",
            "/bookstore.raft.Raft/AppendEntries",
            raft_pb.AppendRequest(leader_id="books-2", recipient_id="books-1", term=HUGE_TERM),
            ("executor-1",),
        ),
        Attack(
            "books-1",
            "/bookstore.raft.Raft/RequestVote",
            raft_pb.VoteRequest(candidate_id="books-2", recipient_id="books-1", term=HUGE_TERM),
            ("executor-1", "operator"),
        ),
        Attack(
            "executor-1",
            "/bookstore.raft.Raft/InstallSnapshot",
            raft_pb.SnapshotRequest(leader_id="executor-2", recipient_id="executor-1", term=HUGE_TERM),
            ("books-1", "operator"),
        ),
    ]


@dataclass(frozen=True, slots=True)
class Observed:
    """What an accepted attack would change, read as identities the table allows."""

    stock: int
    queue: tuple[int, int]
    payment_state: int
    transaction: bool
    fences: tuple[tuple[str, int], tuple[str, int]]
    terms: tuple[int, ...]


def observe(shop: Shop, book_id: str) -> Observed:
    settings, tls = shop.rf.settings, shop.rf.tls()
    stats = shop.queue.stats()
    executor = shop.rf.tls("executor-1")  # the fence's only reader
    payment = pay_grpc.PaymentServiceStub(open_channel(settings.payment_service_addr, "payment_service", tls=executor))
    pay_fence = payment.GetFence(twopc_pb.GetFenceRequest(), timeout=5)
    books_fence = shop.books.fence()
    peers = {**settings.executor_peers(), **settings.database_peers()}
    terms = tuple(
        int(raft_grpc.RaftStub(open_channel(a, n, tls=tls)).Status(raft_pb.StatusRequest(), timeout=5).term)
        for n, a in sorted(peers.items())
    )
    return Observed(
        int(shop.stock(book_id).stock),
        (int(stats.depth), int(stats.leased)),
        int(shop.payment_state(TX).state),
        shop.books.get_transaction(TX) is not None,
        ((pay_fence.incarnation, int(pay_fence.newest_term)), (books_fence.incarnation, int(books_fence.newest_term))),
        terms,
    )


def test_every_mutating_rpc_refuses_no_certificate_and_wrong_identities_and_changes_nothing(shop: Shop) -> None:
    book_id, title, _ = book(7)
    shop.check_invariants([shop.enqueue(book_id)], {book_id: int(shop.stock(book_id).stock)})  # settled, quiet
    before = observe(shop, book_id)
    assert unexpected_codes(shop.rf, attacks(book_id)) == {}
    assert observe(shop, book_id) == before
    assert shop.queue.get_order("attack-order") is None  # neither enqueued nor recorded as rejected


def test_forged_raft_messages_are_refused_and_move_no_term(shop: Shop) -> None:
    before = observe(shop, book(7)[0]).terms
    tls_dir, peers = shop.rf.tls().tls_dir, shop.rf.settings.database_peers()
    forged = raft_pb.AppendRequest(leader_id="books-3", recipient_id="books-1", term=HUGE_TERM)
    vote = raft_pb.VoteRequest(candidate_id="books-3", recipient_id="books-1", term=HUGE_TERM)
    # A member of the group speaking for another member; a fleet identity outside the group claiming membership.
    for identity, request, method in (
        ("books-2", forged, "AppendEntries"),
        ("books-2", vote, "RequestVote"),
        (
            "executor-1",
            raft_pb.AppendRequest(leader_id="executor-1", recipient_id="books-1", term=HUGE_TERM),
            "AppendEntries",
        ),
        (
            "operator",
            raft_pb.TimeoutNowRequest(leader_id="books-2", recipient_id="books-1", term=HUGE_TERM),
            "TimeoutNow",
        ),
    ):
        channel = open_channel(peers["books-1"], "books-1", retries=False, tls=FleetTls(tls_dir, identity))
        with channel:
            attack = Attack("books-1", f"/bookstore.raft.Raft/{method}", request, (identity,))
            assert code_of(channel, attack, connect_attempts=3) is grpc.StatusCode.PERMISSION_DENIED, (identity, method)
    assert observe(shop, book(7)[0]).terms == before


def test_a_huge_abort_term_from_a_non_executor_is_ignored_and_orders_still_commit(shop: Shop) -> None:
    book_id, title, _ = book(8)
    fences = observe(shop, book_id).fences
    tls_dir = shop.rf.tls().tls_dir
    settings = shop.rf.settings
    for identity in ("orchestrator", "books-2", "operator"):
        tls = FleetTls(tls_dir, identity)
        payment = pay_grpc.PaymentServiceStub(open_channel(settings.payment_service_addr, "payment_service", tls=tls))
        with pytest.raises(grpc.RpcError) as refused:
            payment.Abort(pay_pb.DecisionRequest(tx_id="any", coordinator_term=HUGE_TERM), timeout=5)
        assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
        books = books_grpc.BooksDatabaseStub(open_channel(settings.database_peers()["books-1"], "books-1", tls=tls))
        with pytest.raises(grpc.RpcError) as refused:
            books.AbortTransaction(books_pb.AbortRequest(tx_id="any", coordinator_term=HUGE_TERM), timeout=5)
        assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert observe(shop, book_id).fences == fences
    before = int(shop.stock(book_id).stock)
    order_id = shop.enqueue(book_id)
    orders = shop.check_invariants([order_id], {book_id: before})
    assert orders[order_id]["state"] == "COMMITTED"


def test_refusals_are_logged_with_identity_and_method(shop: Shop) -> None:
    log = Path(shop.rf.fleet.log_path("payment_service")).read_text()
    assert '"msg": "call refused"' in log and '"identity": "stranger"' in log
    assert '"method": "/bookstore.payment_service.PaymentService/Prepare"' in log
