"""The payment service cut off from the coordinator (iptables, its own loopback address) after it voted COMMIT:
the coordinator retries Commit for as long as it is cut off, the payment is captured once healed, and nothing
stays PREPARED anywhere (I1–I5 over the participants' own records)."""

from __future__ import annotations

import random
import signal
import time
import uuid
from pathlib import Path

import pytest

from chaos.faults.isolation import LoopbackIsolation, unavailable_reason
from testing.fleet_env import EXECUTION, FLEET_ENV, LOOPBACK, PROCESSES
from testing.local_fleet import Shop, running_fleet, wait_until
from tests.e2e.execution import DATABASES, book
from utils.pb.payment_service import payment_service_pb2 as pay_pb

pytestmark = [
    pytest.mark.fleet,
    pytest.mark.timeout(180),
    pytest.mark.skipif(unavailable_reason() is not None, reason=f"isolation unavailable: {unavailable_reason()}"),
]
CUT_OFF_S = 3.0  # several phase-2 attempts and backoffs
# Only the coordinator's own retries may capture the payment: the payment service does not resolve its doubt
# itself (asking the executors: the termination protocol), and the order's queue lease does not run out during
# the test (redelivery would start phase 2 again from another runner).
COORDINATOR_RETRIES_ONLY = {"PAYMENT_TERMINATION_AFTER_S": "600", "EXECUTOR_LEASE_S": "120"}
RETRIES_MIN = 2


def phase2_retries(shop: Shop, order_id: str) -> int:
    """The coordinators' "phase 2 not acknowledged" log lines for this order (one per failed attempt)."""
    return sum(
        line.count(order_id)
        for name in shop.rf.fleet.processes
        if name.startswith("executor-")
        for line in shop.rf.fleet.log_path(name).read_text(errors="replace").splitlines()
        if "phase 2 not acknowledged" in line
    )


def test_the_payment_service_cut_off_during_phase_2_is_retried_until_it_acknowledges_and_nothing_stays_prepared(
    tmp_path: Path,
) -> None:
    payment_host = f"127.0.{random.randint(100, 250)}.{PROCESSES['payment_service']}"

    def host(name: str) -> str:  # the payment service alone on an address of its own: the one the rules cut
        return payment_host if name == "payment_service" else LOOPBACK

    isolation = LoopbackIsolation(f"pay{uuid.uuid4().hex[:6]}")
    with running_fleet(tmp_path, only=EXECUTION, extra_env={**FLEET_ENV, **COORDINATOR_RETRIES_ONLY}, host=host) as rf:
        shop = Shop(rf)
        fleet = rf.fleet
        try:
            # Its own address is what the rules cut; the cgroup (joined late) only gives the cgroup rule a path.
            isolation.adopt("payment_service", fleet.processes["payment_service"].pid)
            shop.executor_leader()
            book_id, _, _ = book(0)
            before = int(shop.stock(book_id).stock)
            for name in DATABASES:  # hold phase 1 open until the payment has voted
                fleet.signal(name, signal.SIGSTOP)
            try:
                oid = shop.enqueue(book_id)
                wait_until(
                    lambda: shop.payment_state(oid).state == pay_pb.PAYMENT_STATE_PREPARED,
                    15,
                    "the payment to vote COMMIT",
                )
                isolation.isolate("payment_service", payment_host)
            finally:
                for name in DATABASES:
                    fleet.signal(name, signal.SIGCONT)
            cut_at = time.monotonic()
            assert wait_until(lambda: shop.decision(oid), 15, "the decision") == "COMMIT"
            wait_until(lambda: phase2_retries(shop, oid) >= RETRIES_MIN, 15, "the coordinator to retry Commit")
            time.sleep(max(0.0, CUT_OFF_S - (time.monotonic() - cut_at)))  # the fault's duration
            retried = phase2_retries(shop, oid)
            isolation.reconnect("payment_service")
            healed_at = time.monotonic()
            wait_until(
                lambda: shop.payment_state(oid).state == pay_pb.PAYMENT_STATE_CAPTURED,
                15,
                "the payment to be captured after healing",
            )
            captured_s = time.monotonic() - healed_at
            orders = shop.check_invariants([oid], {book_id: before})  # I2: nothing PREPARED or reserved is left
            assert orders[oid]["state"] == "COMMITTED"
            assert shop.payment_state(oid).state == pay_pb.PAYMENT_STATE_CAPTURED
            print(f"Commit not acknowledged {retried} times while cut off; captured {captured_s:.2f} s after healing")
        finally:
            isolation.reconnect("payment_service")
            shop.close()
    isolation.close()
