"""Shared helpers of the order-execution end-to-end tests: place orders, wait for outcomes, check I1–I5.

Every check goes through public interfaces: GET /orders/{id}, the payment service's GetPayment and the
books database's ReadStock / GetTransaction.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import grpc
import requests
import requests.adapters

from books_database.client import BooksClient
from order_queue.client import OrderQueueClient
from payment_service.decision_client import DecisionUnavailable, ExecutorDecisionClient
from utils.catalog.file import load_catalog
from utils.pb.books_database import books_database_pb2 as books_pb
from utils.pb.order_executor import order_executor_pb2 as exec_pb
from utils.pb.order_executor import order_executor_pb2_grpc as exec_grpc
from utils.pb.order_queue import order_queue_pb2 as queue_pb
from utils.pb.payment_service import payment_service_pb2 as pay_pb
from utils.pb.payment_service import payment_service_pb2_grpc as pay_grpc
from testing.local_fleet import RunningFleet

# The processes order execution needs; FULL adds the validation flow, for checkouts over HTTP.
EXECUTION = {"books_database", "payment_service", "order_queue", "order_executor", "orchestrator"}
FULL = EXECUTION | {"transaction_verification", "fraud_detection", "suggestions"}
GOOD_CARD = "4111111111111111"
DECLINED_CARD = "4000000000000002"
FINAL = ("COMMITTED", "ABORTED")
EXECUTORS = ("executor-1", "executor-2", "executor-3")
DATABASES = ("books-1", "books-2", "books-3")
# Tests reuse one card for many orders: lift the fraud velocity limit (a card-testing rule) for them.
FLEET_ENV = {"FRAUD_CARD_USES_MAX": "100000", "PAYMENT_TERMINATION_AFTER_S": "1.0", "SHUTDOWN_GRACE_S": "1"}


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


def checkout_body(book_title: str, quantity: int = 1, card: str = GOOD_CARD, shipping: str = "standard",
                  name: str = "Ada Lovelace") -> dict[str, Any]:
    return {"items": [{"name": book_title, "quantity": quantity}],
            "user": {"name": name, "contact": "ada@example.com"},
            "creditCard": {"number": card, "expirationDate": "12/2030", "cvv": "123"},
            "billingAddress": {"street": "1 Main St", "city": "Tartu", "state": "Tartumaa", "zip": "50090",
                               "country": "Estonia"},
            "shippingMethod": shipping, "giftWrapping": False, "termsAndConditionsAccepted": True}


@dataclass
class Shop:
    """Clients of one running fleet, and the checks every test ends with."""

    rf: RunningFleet
    books: BooksClient = field(init=False)
    queue: OrderQueueClient = field(init=False)
    payment: pay_grpc.PaymentServiceStub = field(init=False)

    def __post_init__(self) -> None:
        self.books = BooksClient(self.rf.settings.database_peers(), timeout_s=5.0)
        self.queue = OrderQueueClient(self.rf.settings.order_queue_addr)
        self.payment = pay_grpc.PaymentServiceStub(grpc.insecure_channel(self.rf.settings.payment_service_addr))
        self.http = requests.Session()
        self.http.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=64))

    def close(self) -> None:
        self.books.close()
        self.queue.close()

    # ---- placing orders ---------------------------------------------------------------------------------------------
    def checkout(self, book_title: str, quantity: int = 1, card: str = GOOD_CARD, shipping: str = "standard") -> str:
        """POST /checkout; returns the order id of an approved order."""
        reply = self.http.post(f"{self.rf.api}/checkout", json=checkout_body(book_title, quantity, card, shipping),
                               timeout=30)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["status"] == "Order Approved", body
        return str(body["orderId"])

    def enqueue(self, book_id: str, quantity: int = 1, card: str = GOOD_CARD, shipping: str = "standard",
                order_id: str | None = None) -> str:
        """Straight to the queue, as the gateway does after validation (tokenized card, last four only)."""
        token = self.payment.Tokenize(pay_pb.TokenizeRequest(card_number=card, expiration_date="12/30"), timeout=5)
        order_id = order_id or uuid.uuid4().hex
        self.queue.enqueue(queue_pb.Order(order_id=order_id, items=[queue_pb.OrderItem(book_id=book_id,
                                                                                    quantity=quantity)],
                                          user_name="Ada", shipping_method=shipping,
                                          payment_token=token.token, card_last4=token.card_last4))
        return order_id

    # ---- reading state ------------------------------------------------------------------------------------------------
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
                    if order["state"] in FINAL:
                        found[oid] = order
            return len(found) == len(ids)

        wait_until(all_final, timeout_s, f"{len(ids) - len(found)} of {len(ids)} orders to finish")
        return found

    def stock(self, book_id: str) -> books_pb.ReadStockResponse:
        return self.books.read_stock(book_id)

    def payment_state(self, order_id: str) -> pay_pb.Payment:
        return self.payment.GetPayment(pay_pb.GetPaymentRequest(tx_id=order_id), timeout=5)

    def executor_status(self) -> dict[str, exec_pb.StatusReply | None]:
        replies: dict[str, exec_pb.StatusReply | None] = {}
        for node_id, address in self.rf.settings.executor_peers().items():
            try:
                with grpc.insecure_channel(address) as channel:
                    replies[node_id] = exec_grpc.OrderExecutorStub(channel).Status(exec_pb.StatusRequest(),
                                                                                  timeout=1)
            except grpc.RpcError:
                replies[node_id] = None
        return replies

    def decision(self, order_id: str) -> str | None:
        """The executor group's decision for an order (GetDecision, as a participant in doubt asks it)."""
        client = ExecutorDecisionClient(self.rf.settings.executor_peers(), timeout_s=3.0)
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

    # ---- I1–I5 ---------------------------------------------------------------------------------------------------------
    def check_invariants(self, order_ids: Iterable[str], stock_before: dict[str, int],
                         timeout_s: float = 30.0) -> dict[str, dict[str, Any]]:
        """I3 every order final; I2 COMMITTED ⇔ captured ⇔ decremented, ABORTED ⇒ neither; I4 once, for the
        order's total; I1 per book: stock before − Σ committed quantities = stock now, nothing left reserved."""
        orders = self.wait_final(order_ids, timeout_s)
        committed: dict[str, int] = {book_id: 0 for book_id in stock_before}
        for oid, order in orders.items():
            payment = self.payment_state(oid)
            tx = self.books.get_transaction(oid)
            if order["state"] == "COMMITTED":
                assert payment.state == pay_pb.PAYMENT_STATE_CAPTURED, (oid, payment)
                assert tx is not None and tx.state == books_pb.COMMITTED, (oid, tx)
                assert order["total"] is not None and payment.amount_cents == _cents(order["total"]), (oid, payment)
                for item in tx.items:
                    committed[item.book_id] = committed.get(item.book_id, 0) + int(item.quantity)
            else:
                assert payment.state in (pay_pb.PAYMENT_STATE_NONE, pay_pb.PAYMENT_STATE_VOIDED), (oid, payment)
                assert tx is None or tx.state == books_pb.ABORTED, (oid, tx)
                assert order["reason"], f"{oid}: an aborted order says why"
        for book_id, before in stock_before.items():
            def settled(book_id: str = book_id) -> bool:
                return int(self.stock(book_id).reserved) == 0
            wait_until(settled, timeout_s, f"reservations of {book_id} released")
            now = self.stock(book_id)
            assert int(now.stock) == before - committed[book_id], (book_id, before, committed[book_id], now)
        return orders


def _cents(total: str) -> int:
    units, _, fraction = total.partition(".")
    return int(units) * 100 + int((fraction + "00")[:2])


def book(index: int) -> tuple[str, str, int]:
    """(id, title, initial stock) of the catalog's index-th book: each test uses its own books."""
    entry = load_catalog().books[index]
    return entry.id, entry.title, entry.initial_stock
