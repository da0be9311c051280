"""The coordinator's Prepare to a payment service that is not reachable yet: it waits within the prepare budget
(a stack coming up, a restart) instead of failing at once with UNAVAILABLE and aborting the order.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from order_executor.core.order import Item, OrderSummary
from order_executor.participants import PaymentParticipant
from payment_service.core.ledger import Limits
from payment_service.server import SERVICE_NAME, Faults, PaymentServicer
from payment_service.store import LedgerStore
from testing.pki import RoutedChannel
from utils.pb.payment_service import payment_service_pb2 as pb
from utils.pb.payment_service import payment_service_pb2_grpc as pb_grpc
from utils.rpc.client import call
from utils.rpc.server import GrpcService

ORDER = OrderSummary("o-late", (Item("b", 1, 500),), 500, payment_token="tok_unknown", card_last4="4242")
START_AFTER_S = 0.4  # the payment service starts listening this long after the Prepare was sent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LateService:
    """A payment service that starts on `port` after a delay, on a thread of its own."""

    def __init__(self, path: Path, port: int) -> None:
        self.store = LedgerStore(path)
        servicer = PaymentServicer(self.store, b"k" * 32, Limits(), Faults(), random.Random(7))
        self.service = GrpcService(
            "payment_service",
            f"127.0.0.1:{port}",
            [lambda s: pb_grpc.add_PaymentServiceServicer_to_server(servicer, s)],
            [SERVICE_NAME],
            shutdown_grace_s=0.2,
            identity="payment_service",
        )
        self.started_at = 0.0
        self._thread = threading.Thread(target=self._start_later, daemon=True)
        self._thread.start()

    def _start_later(self) -> None:
        time.sleep(START_AFTER_S)  # the scenario itself: nothing listens until then
        self.service.start()
        self.started_at = time.monotonic()

    def close(self) -> None:
        self._thread.join(timeout=5)
        self.service.stop()
        self.store.close()


@pytest.fixture
def late(tmp_path: Path) -> Iterator[tuple[LateService, int]]:
    port = _free_port()
    service = LateService(tmp_path / "ledger.sqlite3", port)
    yield service, port
    service.close()


def test_a_prepare_sent_before_the_payment_service_listens_gets_its_vote(late: tuple[LateService, int]) -> None:
    service, port = late
    participant = PaymentParticipant(f"127.0.0.1:{port}")
    # The executor's identity (the table allows Prepare to executors only), over the same wait-for-ready call.
    participant._stub = pb_grpc.PaymentServiceStub(RoutedChannel(f"127.0.0.1:{port}", "payment_service"))
    sent_at = time.monotonic()
    vote = participant.prepare(ORDER, term=1, timeout_s=3.0)
    assert service.started_at > 0 and time.monotonic() >= service.started_at >= sent_at
    # An answer from the service itself (the token is unknown there, so it votes ABORT with its own reason), not
    # the coordinator's "unavailable" after a failed connection.
    assert not vote.commit and vote.reason


def test_without_waiting_the_same_call_fails_at_once_with_unavailable() -> None:
    port = _free_port()  # nothing will listen here
    stub = pb_grpc.PaymentServiceStub(RoutedChannel(f"127.0.0.1:{port}", "payment_service", retries=False))
    request = pb.PrepareRequest(tx_id="o-late", token="tok_unknown", amount_cents=500, coordinator_term=1)
    sent_at = time.monotonic()
    with pytest.raises(grpc.RpcError) as refused:
        call(stub.Prepare, request, timeout_s=3.0)
    assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
    assert time.monotonic() - sent_at < 2.0  # well inside the 3 s budget: this is what the wait is for
