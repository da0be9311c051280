"""Starts a private copy of the local fleet for a test: free loopback ports, its own data and logs.

`with running_fleet(tmp_path, only={...}) as fleet:` gives the Fleet plus the settings it runs with; `Shop(fleet)`
gives clients of it (the API, the queue, the participants) and the invariants check every test ends with.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import requests
import requests.adapters

from books_database.client import BooksClient
from order_queue.client import OrderQueueClient
from payment_service.decision_client import DecisionUnavailable, ExecutorDecisionClient
from testing.evidence import (
    Answer,
    BookStock,
    CheckoutRecord,
    ClientHistory,
    Evidence,
    OrderState,
    payment_fact,
    transaction_fact,
)
from testing.fleet_env import REPLICAS_DEFAULT, fleet_env, free_port, on_loopback, settings_from
from testing.invariants import check_all
from testing.orders import GOOD_CARD, OrderKind, checkout_body, queue_order
from testing.pki import RoutedChannel, routed
from utils.catalog.file import load_catalog
from utils.fleet.launcher import Fleet
from utils.fleet.spec import fleet_processes
from utils.order.order import to_cents
from utils.pb.books_database import books_database_pb2 as books_pb
from utils.pb.order_executor import order_executor_pb2 as exec_pb
from utils.pb.order_executor import order_executor_pb2_grpc as exec_grpc
from utils.pb.payment_service import payment_service_pb2 as pay_pb
from utils.pb.payment_service import payment_service_pb2_grpc as pay_grpc
from utils.rpc.client import open_channel
from utils.rpc.trust import Trust, install_trust, installed_trust_or_none, roster_from
from utils.settings import FleetSettings
from utils.tls import FleetTls
from utils.tls.fleet import OPERATOR, ensure_fleet_pki

__all__ = ["RunningFleet", "Shop", "free_port", "running_fleet", "wait_until"]  # free_port: for the services' tests


@dataclass
class RunningFleet:
    fleet: Fleet
    settings: FleetSettings
    env: dict[str, str]

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.settings.orchestrator_port}"

    def tls(self, identity: str = OPERATOR) -> FleetTls:
        """The fleet's own certificates (made by the launcher in its data folder), presenting `identity`."""
        return FleetTls(Path(self.fleet.env["TLS_DIR"]), identity)


@contextmanager
def running_fleet(
    workdir: Path,
    only: Collection[str] | None = None,
    extra_env: dict[str, str] | None = None,
    healthy_timeout_s: float = 60.0,
    host: Callable[[str], str] = on_loopback,
    replicas: int = REPLICAS_DEFAULT,
) -> Iterator[RunningFleet]:
    """Starts the fleet (or the processes named in `only`, by process name or module) and stops it after.

    `host(process name)` is the loopback address each listens on (one of its own lets a test cut it off);
    `replicas` is the size of each Raft group (3 or 5)."""
    planned = fleet_env(host, extra=extra_env, replicas=replicas)
    env = planned.env
    settings = settings_from(env)
    specs = [s for s in fleet_processes(settings) if only is None or s.name in only or s.module in only]
    fleet = Fleet(specs, data_dir=workdir / "data", log_dir=workdir / "logs", env=env)
    for spec in specs:
        spec.env.setdefault("METRICS_PORT", planned.metrics_ports.get(spec.name, "0"))
        spec.env.setdefault("HEALTH_PORT", planned.health_ports.get(spec.name, "0"))
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # so clients built in the test read the same settings
    trust_before = installed_trust_or_none()
    try:
        # Every process's certificate, also of those not started: a test may act as any of them.
        ensure_fleet_pki(fleet.data_dir, [s.name for s in fleet_processes(settings)])
        fleet.start_all()
        # The test speaks to this fleet as its operator, with the fleet's own CA (docs/trust.md).
        running = RunningFleet(fleet, settings, env)
        install_trust(Trust(running.tls(), roster_from(settings), health_port=None))
        fleet.wait_healthy(timeout_s=healthy_timeout_s)
        yield running
    finally:
        install_trust(trust_before)
        fleet.stop_all()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def wait_until(condition: Callable[[], Any], timeout_s: float, what: str, every_s: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = condition()
        except (grpc.RpcError, requests.RequestException):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(every_s)


@dataclass
class Shop:
    """Clients of one running fleet, and the checks every test ends with."""

    rf: RunningFleet
    books: BooksClient = field(init=False)
    queue: OrderQueueClient = field(init=False)
    payment: pay_grpc.PaymentServiceStub = field(init=False)

    def __post_init__(self) -> None:
        settings, tls_dir = self.rf.settings, self.rf.tls().tls_dir
        # The shop's clients act as whoever the table lets make each call: the gateway tokenizes and enqueues,
        # an executor sends 2PC messages (the tests' duplicates and late messages), the operator reads.
        self.books = BooksClient(settings.database_peers(), timeout_s=5.0, channel_factory=routed(tls_dir))
        queue_address = settings.order_queue_addr
        self.queue = OrderQueueClient(queue_address, channel=RoutedChannel(queue_address, "order_queue", tls_dir))
        self.payment = pay_grpc.PaymentServiceStub(
            RoutedChannel(settings.payment_service_addr, "payment_service", tls_dir)
        )
        self.http = requests.Session()
        self.http.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=64))

    def close(self) -> None:
        self.books.close()
        self.queue.close()

    # ---- placing orders ---------------------------------------------------------------------------------------------
    def checkout(self, book_title: str, quantity: int = 1, card: str = GOOD_CARD, shipping: str = "standard") -> str:
        """POST /checkout; returns the order id of an approved order."""
        body = checkout_body([(book_title, quantity)], by_title=True, card=card, shipping=shipping)
        reply = self.http.post(f"{self.rf.api}/checkout", json=body, timeout=30)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["status"] == "Order Approved", body
        return str(body["orderId"])

    def enqueue(
        self,
        book_id: str,
        quantity: int = 1,
        card: str = GOOD_CARD,
        shipping: str = "standard",
        order_id: str | None = None,
    ) -> str:
        """Straight to the queue, as the gateway does after validation (tokenized card, last four only)."""
        order_id = order_id or uuid.uuid4().hex
        # A token is bound to one order and its total (docs/operations.md); an unknown book's order totals 0.
        book = load_catalog().find(book_id=book_id)
        amount = max(1, to_cents(book.price) * quantity if book else 0)
        token = self.payment.Tokenize(
            pay_pb.TokenizeRequest(
                card_number=card, expiration_date="12/30", order_id=order_id, amount_cents_max=amount
            ),
            timeout=5,
        )
        self.queue.enqueue(queue_order(order_id, [(book_id, quantity)], token.token, token.card_last4, shipping))
        return order_id

    # ---- reading state -----------------------------------------------------------------------------------------------
    def order(self, order_id: str) -> dict[str, Any]:
        reply = self.http.get(f"{self.rf.api}/orders/{order_id}", timeout=5)
        assert reply.status_code == 200, reply.text
        return dict(reply.json())

    def wait_final(self, order_ids: Iterable[str], timeout_s: float = 30.0) -> dict[str, dict[str, Any]]:
        ids = list(order_ids)
        found: dict[str, dict[str, Any]] = {}

        def all_final() -> bool:
            for oid in ids:
                if oid not in found:
                    order = self.order(oid)
                    if order["state"] in ("COMMITTED", "ABORTED"):
                        found[oid] = order
            return len(found) == len(ids)

        wait_until(all_final, timeout_s, f"{len(ids) - len(found)} of {len(ids)} orders to finish")
        return found

    def stock(self, book_id: str) -> books_pb.ReadStockResponse:
        return self.books.read_stock(book_id)

    def payment_state(self, order_id: str) -> pay_pb.Payment:
        payment: pay_pb.Payment = self.payment.GetPayment(pay_pb.GetPaymentRequest(tx_id=order_id), timeout=5)
        return payment

    def executor_status(self) -> dict[str, exec_pb.StatusReply | None]:
        replies: dict[str, exec_pb.StatusReply | None] = {}
        for node_id, address in self.rf.settings.executor_peers().items():
            try:
                with open_channel(address, node_id, retries=False, tls=self.rf.tls()) as channel:
                    replies[node_id] = exec_grpc.OrderExecutorStub(channel).Status(exec_pb.StatusRequest(), timeout=1)
            except grpc.RpcError:
                replies[node_id] = None
        return replies

    def decision(self, order_id: str) -> str | None:
        """The executor group's decision for an order (GetDecision, as a participant in doubt asks it)."""
        client = ExecutorDecisionClient(
            self.rf.settings.executor_peers(), timeout_s=3.0, tls=self.rf.tls("payment_service")
        )
        try:
            return client.get_decision(order_id).outcome
        except DecisionUnavailable:
            return None
        finally:
            client.close()

    def executor_leader(self, timeout_s: float = 20.0, not_in: tuple[str, ...] = ()) -> tuple[str, int]:
        """(leader id, term) once one replica outside `not_in` leads."""

        def leader() -> tuple[str, int] | None:
            for node_id, status in self.executor_status().items():
                if status is not None and status.role == "leader" and node_id not in not_in:
                    return node_id, int(status.term)
            return None

        found: tuple[str, int] = wait_until(leader, timeout_s, "an executor leader")
        return found

    # ---- I1–I5 -------------------------------------------------------------------------------------------------------
    def check_invariants(
        self, order_ids: Iterable[str], stock_before: dict[str, int], timeout_s: float = 30.0
    ) -> dict[str, dict[str, Any]]:
        """Every order final (I3), then the one checker (testing/invariants.py) over what the participants hold:
        I2 COMMITTED ⇔ captured ⇔ decremented, ABORTED ⇒ neither; I4 once, for the order's total; I1 per book:
        stock before − Σ committed quantities = stock now, nothing left reserved; I5."""
        orders = self.wait_final(order_ids, timeout_s)
        for oid, order in orders.items():
            if order["state"] == "COMMITTED":
                assert order["total"] is not None, (oid, order)
            else:
                assert order["reason"], f"{oid}: an aborted order says why"
        payments = {oid: payment_fact(self.payment_state(oid)) for oid in orders}
        transactions = {oid: transaction_fact(self.books.get_transaction(oid)) for oid in orders}
        for book_id in stock_before:

            def settled(book_id: str = book_id) -> bool:
                return int(self.stock(book_id).reserved) == 0

            wait_until(settled, timeout_s, f"reservations of {book_id} released")
        final_stock = {
            book_id: BookStock(int(now.stock), int(now.reserved))
            for book_id, now in ((b, self.stock(b)) for b in stock_before)
        }
        # Orders went in by id, not through a recorded checkout: each one's items are what the database took.
        history = ClientHistory(
            tuple(
                CheckoutRecord(n, OrderKind.VALID, transactions[oid].items, 0.0, 0.0, Answer.APPROVED, oid, 200, 1)
                for n, oid in enumerate(orders, 1)
            ),
            {
                oid: (OrderState(oid, order["state"], order["reason"] or "", order["total"], 0.0),)
                for oid, order in orders.items()
            },
        )
        evidence = Evidence(
            dict(stock_before), final_stock, payments, transactions, healed_at_s=0.0, settle_s=timeout_s
        )
        violations = check_all(history, evidence)
        assert not violations, "\n".join(v.describe() for v in violations)
        return orders
