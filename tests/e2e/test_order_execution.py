"""Order execution end to end (issue 5) on one shared local fleet: checkouts over HTTP, 2PC over the real
services, faults by signals. Each test ends by checking I1–I5 through the public API and participants' reads.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest

from books_database.client import BooksClient
from testing.fleet_env import FLEET_ENV, FULL
from testing.local_fleet import Shop, running_fleet, wait_until
from testing.orders import DECLINED_CARD
from tests.e2e.execution import DATABASES, EXECUTORS, book
from utils.pb.books_database import books_database_pb2 as books_pb
from utils.pb.payment_service import payment_service_pb2 as pay_pb
from utils.pb.payment_service import payment_service_pb2_grpc as pay_grpc
from utils.rpc.client import open_channel

pytestmark = [pytest.mark.fleet, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    with running_fleet(tmp_path_factory.mktemp("execution"), only=FULL, extra_env=FLEET_ENV) as rf:
        running = Shop(rf)
        running.executor_leader()
        yield running
        running.close()


def test_normal_order_commits(shop: Shop) -> None:
    book_id, title, _ = book(0)
    before = int(shop.stock(book_id).stock)
    oid = shop.checkout(title, quantity=2)
    orders = shop.check_invariants([oid], {book_id: before})
    assert orders[oid]["state"] == "COMMITTED" and orders[oid]["reason"] == ""
    assert int(shop.stock(book_id).stock) == before - 2
    payment = shop.payment_state(oid)
    assert payment.state == pay_pb.PAYMENT_STATE_CAPTURED and payment.card_last4 == "1111"


def test_not_enough_stock_aborts_and_voids_the_payment(shop: Shop) -> None:
    book_id, title, _ = book(1)
    before = int(shop.stock(book_id).stock)
    oid = shop.checkout(title, quantity=before + 1)
    orders = shop.check_invariants([oid], {book_id: before})
    assert orders[oid]["state"] == "ABORTED" and "not enough stock" in orders[oid]["reason"]
    assert shop.payment_state(oid).state in (pay_pb.PAYMENT_STATE_VOIDED, pay_pb.PAYMENT_STATE_NONE)


def test_narrative_participant_votes_abort_declined_card_releases_the_reservation(shop: Shop) -> None:
    book_id, title, _ = book(2)
    before = int(shop.stock(book_id).stock)
    oid = shop.checkout(title, quantity=1, card=DECLINED_CARD)
    orders = shop.check_invariants([oid], {book_id: before})
    assert (orders[oid]["state"], orders[oid]["reason"]) == ("ABORTED", "card declined")
    tx = shop.books.get_transaction(oid)
    assert tx is None or tx.state == books_pb.ABORTED
    assert int(shop.stock(book_id).reserved) == 0 and int(shop.stock(book_id).stock) == before


def test_thirty_concurrent_checkouts_of_five_copies_commit_exactly_five(shop: Shop) -> None:
    book_id, title, _ = book(3)
    on_hand = int(shop.stock(book_id).stock)
    shop.books.decrement_stock(book_id, on_hand - 5)  # leave exactly 5 copies
    with ThreadPoolExecutor(max_workers=30) as pool:
        order_ids = list(pool.map(lambda _: shop.checkout(title, quantity=1), range(30)))
    orders = shop.check_invariants(order_ids, {book_id: 5})
    states = [o["state"] for o in orders.values()]
    assert (states.count("COMMITTED"), states.count("ABORTED")) == (5, 25)  # I5: no oversell
    assert int(shop.stock(book_id).stock) == 0


def test_duplicate_and_late_messages_change_nothing_and_are_logged(shop: Shop) -> None:
    book_id, title, _ = book(4)
    before = int(shop.stock(book_id).stock)
    committed, aborted = shop.checkout(title), shop.checkout(title, card=DECLINED_CARD)
    shop.check_invariants([committed, aborted], {book_id: before})
    # As the coordinator would send them: from an executor's identity, with the group's incarnation.
    leader, term = shop.executor_leader()
    status = shop.executor_status()[leader]
    assert status is not None and status.incarnation
    incarnation = status.incarnation
    as_executor = shop.rf.tls(leader)
    payment = pay_grpc.PaymentServiceStub(
        open_channel(shop.rf.settings.payment_service_addr, "payment_service", tls=as_executor)
    )
    books = BooksClient(shop.rf.settings.database_peers(), timeout_s=5.0, tls=as_executor)
    # Commit twice: acknowledged, nothing changes.
    reply = payment.Commit(
        pay_pb.DecisionRequest(tx_id=committed, coordinator_term=term, incarnation=incarnation), timeout=5
    )
    assert (reply.state, reply.changed) == (pay_pb.PAYMENT_STATE_CAPTURED, False)
    assert books.commit(committed, term, incarnation=incarnation).state == books_pb.COMMITTED
    # A stale Prepare after Abort: ABORT again, nothing held.
    stale = pay_pb.PrepareRequest(
        tx_id=aborted, token="tok_any", amount_cents=100, coordinator_term=term, incarnation=incarnation
    )
    late = payment.Prepare(stale, timeout=5)
    assert late.vote == pay_pb.VOTE_ABORT
    assert books.prepare(aborted, [(book_id, 1)], term, incarnation=incarnation).vote == books_pb.VOTE_ABORT
    # Abort after Commit: refused by the payment service, ignored by the books database.
    with pytest.raises(grpc.RpcError) as error:
        payment.Abort(
            pay_pb.DecisionRequest(tx_id=committed, coordinator_term=term, incarnation=incarnation), timeout=5
        )
    assert error.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert books.abort(committed, term, incarnation=incarnation).state == books_pb.COMMITTED
    books.close()
    shop.check_invariants([committed, aborted], {book_id: before})
    events = _log_events(shop.rf.fleet.log_path("payment_service"), {committed, aborted})
    assert {"duplicate_commit", "stale_prepare_after_abort", "abort_after_commit"} <= events


def test_narrative_participant_fails_after_voting_payment_killed_then_follows_the_decision(shop: Shop) -> None:
    book_id, _, _ = book(5)
    before = int(shop.stock(book_id).stock)
    fleet = shop.rf.fleet
    for name in DATABASES:  # hold phase 1 open: the books database cannot vote yet
        fleet.signal(name, signal.SIGSTOP)
    try:
        oid = shop.enqueue(book_id)
        wait_until(
            lambda: shop.payment_state(oid).state == pay_pb.PAYMENT_STATE_PREPARED, 15, "the payment to vote COMMIT"
        )
        fleet.kill("payment_service")  # it voted COMMIT and holds the amount: PREPARED is on disk
    finally:
        for name in DATABASES:
            fleet.signal(name, signal.SIGCONT)
    decided = wait_until(lambda: shop.decision(oid), 15, "the coordinator to decide while the payment is down")
    fleet.start("payment_service")
    fleet.wait_healthy(["payment_service"])
    orders = shop.check_invariants([oid], {book_id: before})
    assert orders[oid]["state"] == {"COMMIT": "COMMITTED", "ABORT": "ABORTED"}[decided]


def test_with_every_executor_stopped_orders_wait_then_run_in_priority_order(shop: Shop) -> None:
    book_id, _, _ = book(6)
    before = int(shop.stock(book_id).stock)
    fleet = shop.rf.fleet
    for name in EXECUTORS:
        fleet.stop(name)
    try:  # the executors come back even when an assertion fails, so the next test starts with a whole fleet
        placed = [
            shop.enqueue(book_id, 1, shipping="standard"),
            shop.enqueue(book_id, 3, shipping="express"),
            shop.enqueue(book_id, 1, shipping="priority"),
            shop.enqueue(book_id, 2, shipping="express"),
            shop.enqueue(book_id, 2, shipping="standard"),
        ]
        time.sleep(1.0)  # a stretch in which nothing may happen: no condition to wait on
        assert {shop.order(oid)["state"] for oid in placed} == {"QUEUED"}, "nothing runs without executors"
        priorities = {oid: shop.queue.get_order(oid).order.priority for oid in placed}  # type: ignore[union-attr]
    finally:
        for name in EXECUTORS:
            fleet.start(name)
    shop.check_invariants(placed, {book_id: before})
    leased = [oid for oid in _leased_order(shop.rf.fleet.log_dir) if oid in priorities]
    first_leases = list(dict.fromkeys(leased))
    assert first_leases == sorted(placed, key=lambda oid: -priorities[oid]), (first_leases, priorities)


def test_with_the_database_quorum_lost_nothing_commits_halfway_and_all_complete_after(shop: Shop) -> None:
    book_id, _, _ = book(7)
    before = int(shop.stock(book_id).stock)
    fleet = shop.rf.fleet
    for name in DATABASES[:2]:
        fleet.kill(name)  # one replica left: no quorum, no primary
    try:
        placed = [shop.enqueue(book_id) for _ in range(3)]
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:  # nothing half-committed while the quorum is gone
            for oid in placed:
                assert shop.order(oid)["state"] != "COMMITTED"
                assert shop.payment_state(oid).state != pay_pb.PAYMENT_STATE_CAPTURED
            time.sleep(0.3)
    finally:
        for name in DATABASES[:2]:
            fleet.start(name)
    fleet.wait_healthy(list(DATABASES[:2]))
    shop.check_invariants(placed, {book_id: before}, timeout_s=40)


def _log_events(path: Path, tx_ids: set[str]) -> set[str]:
    events = set()
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("tx_id") in tx_ids and "event" in record:
            events.add(record["event"])
    return events


def _leased_order(log_dir: Path) -> list[str]:
    """Order ids in the order executors leased them (their 'order leased' log lines, by timestamp)."""
    leases: list[tuple[str, str]] = []
    for name in EXECUTORS:
        for line in (log_dir / f"{name}.log").read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("msg") == "order leased":
                leases.append((record["ts"], record["tx_id"]))
    return [tx for _, tx in sorted(leases, key=lambda lease: lease[0])]
