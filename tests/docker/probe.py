"""Run in a one-off container of the fleet's image on the fleet's network, as the operator (`python -c <this file>
ORDER_ID…`, through the Docker SDK): asks the participants themselves, with the project's clients, for every
book's stock and each order's payment and database transaction, and prints them as one JSON object. Standalone:
passed as a string, it imports only the image's own packages (the services' clients), never the test suite.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import grpc

from books_database.client import BooksClient
from utils.pb.books_database import books_database_pb2 as books_pb
from utils.pb.payment_service import payment_service_pb2 as pay_pb
from utils.pb.payment_service import payment_service_pb2_grpc as pay_grpc
from utils.rpc.client import call, open_channel
from utils.rpc.trust import Trust, install_trust, roster_from
from utils.settings import FleetSettings, RuntimeSettings
from utils.tls import FleetTls
from utils.tls.fleet import OPERATOR

READ_TIMEOUT_S = 3.0
READ_DEADLINE_S = 30.0  # a leader change right after a fault heals: keep asking this long
T = TypeVar("T")
PAYMENT_STATES = {
    pay_pb.PAYMENT_STATE_NONE: "NONE",
    pay_pb.PAYMENT_STATE_PREPARED: "PREPARED",
    pay_pb.PAYMENT_STATE_CAPTURED: "CAPTURED",
    pay_pb.PAYMENT_STATE_VOIDED: "VOIDED",
}
TX_STATES = {books_pb.PREPARED: "PREPARED", books_pb.COMMITTED: "COMMITTED", books_pb.ABORTED: "ABORTED"}


def retried(read: Callable[[], T]) -> T:
    deadline = time.monotonic() + READ_DEADLINE_S
    while True:
        try:
            return read()
        except grpc.RpcError as error:
            retryable = error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
            if not retryable or time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def main(order_ids: list[str]) -> dict[str, Any]:
    fleet = FleetSettings()
    # As the operator (GetPayment, GetTransaction are the operator's reads): TLS_DIR must hold operator.crt/.key,
    # e.g. run in the compose `operator` container (docs/trust.md).
    runtime = RuntimeSettings()
    install_trust(Trust(FleetTls(Path(runtime.tls_dir), OPERATOR), roster_from(fleet)))
    books = BooksClient.from_settings(fleet, timeout_s=READ_TIMEOUT_S)
    payment = pay_grpc.PaymentServiceStub(open_channel(fleet.payment_service_addr, "payment_service"))
    stock = {b.id: {"stock": int(b.stock), "reserved": int(b.reserved)} for b in retried(books.list_books)}
    payments: dict[str, Any] = {}
    transactions: dict[str, Any] = {}
    for order_id in order_ids:
        reply = retried(
            functools.partial(
                call, payment.GetPayment, pay_pb.GetPaymentRequest(tx_id=order_id), timeout_s=READ_TIMEOUT_S
            )
        )
        payments[order_id] = {
            "state": PAYMENT_STATES.get(reply.state, f"?{reply.state}"),
            "amountCents": int(reply.amount_cents),
        }
        tx = retried(functools.partial(books.get_transaction, order_id))
        items: dict[str, int] = {}
        for item in tx.items if tx is not None else ():
            items[item.book_id] = items.get(item.book_id, 0) + int(item.quantity)
        state = "NONE" if tx is None else TX_STATES.get(tx.state, f"?{tx.state}")
        transactions[order_id] = {"state": state, "items": items}
    books.close()
    return {"stock": stock, "payments": payments, "transactions": transactions}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
