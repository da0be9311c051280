"""The executor group loses its data (stopped, data deleted, restarted): the participants refuse the new
incarnation, GET /cluster says so, `python -m order_executor.recover` resolves the in-doubt transactions from the
participants' own records and adopts the new group; I1–I5 hold and the fleet commits orders afterwards.
Also: after the fleet ran, no data file is readable by group or others (docs/operations.md)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import grpc
import pytest

from books_database.client import BooksClient
from testing.fleet_env import EXECUTION, FLEET_ENV
from testing.local_fleet import Shop, running_fleet, wait_until
from testing.orders import queue_order
from utils.catalog.file import load_catalog
from utils.order.order import to_cents
from utils.pb.payment_service import payment_service_pb2 as pay_pb
from utils.pb.payment_service import payment_service_pb2_grpc as pay_grpc
from utils.rpc.client import open_channel

pytestmark = [pytest.mark.fleet, pytest.mark.timeout(240)]
# The participants must not settle the hand-made in-doubt transactions with the old group before it is wiped.
ENV = {**FLEET_ENV, "PAYMENT_TERMINATION_AFTER_S": "600", "BOOKS_TERMINATION_AFTER_S": "600"}


def _incarnation(shop: Shop) -> str:
    def known() -> str:
        leader, _ = shop.executor_leader()
        status = shop.executor_status()[leader]
        return status.incarnation if status is not None else ""

    found: str = wait_until(known, 20, "the executor group's incarnation")
    return found


def _cluster(shop: Shop) -> dict[str, Any]:
    reply = shop.http.get(f"{shop.rf.api}/cluster", timeout=5)
    assert reply.status_code == 200, reply.text
    return dict(reply.json()["groups"]["order_executor"])


def test_a_wiped_executor_group_is_refused_until_the_operator_resolves_and_adopts(tmp_path: Path) -> None:
    with running_fleet(tmp_path, only=EXECUTION, extra_env=ENV) as rf:
        shop = Shop(rf)
        executors = sorted(rf.settings.executor_peers())
        book = load_catalog().books[3]
        price = to_cents(book.price)
        before = int(shop.stock(book.id).stock)
        old = _incarnation(shop)
        _, term = shop.executor_leader()
        first = shop.enqueue(book.id)
        assert shop.wait_final([first])[first]["state"] == "COMMITTED"

        # The old group's last moments, as the participants recorded them: "c" committed at the books database
        # and only prepared at the payment service; "a" prepared at the books database only. Then it is gone.
        for name in executors:
            rf.fleet.stop(name)
        as_executor = rf.tls(executors[0])
        gateway = pay_grpc.PaymentServiceStub(
            open_channel(rf.settings.payment_service_addr, "payment_service", tls=rf.tls("orchestrator"))
        )
        payment = pay_grpc.PaymentServiceStub(
            open_channel(rf.settings.payment_service_addr, "payment_service", tls=as_executor)
        )
        books = BooksClient(rf.settings.database_peers(), timeout_s=5.0, tls=as_executor)
        in_doubt = {"c": uuid.uuid4().hex, "a": uuid.uuid4().hex}
        for oid in in_doubt.values():
            token = gateway.Tokenize(
                pay_pb.TokenizeRequest(card_number="4111111111111111", order_id=oid, amount_cents_max=price), timeout=5
            )
            shop.queue.enqueue(queue_order(oid, [(book.id, 1)], token.token, token.card_last4))
            assert books.prepare(oid, [(book.id, 1)], term, incarnation=old).vote == 1  # VOTE_COMMIT
            if oid == in_doubt["c"]:
                prepare = pay_pb.PrepareRequest(
                    tx_id=oid, token=token.token, amount_cents=price, coordinator_term=term, incarnation=old
                )
                assert payment.Prepare(prepare, timeout=5).vote == pay_pb.VOTE_COMMIT
        books.commit(in_doubt["c"], term, incarnation=old)
        shutil.rmtree(rf.fleet.data_dir / "order_executor")
        for name in executors:
            rf.fleet.start(name)
        rf.fleet.wait_healthy(executors)

        new = _incarnation(shop)
        assert new != old
        # Refused, loudly: the new group's leader leases nothing, and GET /cluster names the operator command.
        view = wait_until(lambda: (v := _cluster(shop))["fencedOut"] and v, 20, "GET /cluster to show the refusal")
        assert view["incarnation"] == new and "python -m order_executor.recover" in view["fencedOut"]
        with pytest.raises(grpc.RpcError) as refused:
            payment.Abort(pay_pb.DecisionRequest(tx_id=in_doubt["c"], coordinator_term=1, incarnation=new), timeout=5)
        assert refused.value.code() is grpc.StatusCode.FAILED_PRECONDITION
        assert "incarnation changed" in str(refused.value.details())
        assert {shop.order(oid)["state"] for oid in in_doubt.values()} <= {"QUEUED", "EXECUTING"}

        env = {**os.environ, **rf.env, "TLS_IDENTITY": "operator"}
        env.pop("NODE_ID", None)
        run = subprocess.run(
            [sys.executable, "-m", "order_executor.recover"], env=env, capture_output=True, text=True, timeout=60
        )
        assert run.returncode == 0, run.stdout + run.stderr
        assert f"{in_doubt['c']}: commit" in run.stdout and f"{in_doubt['a']}: abort" in run.stdout
        wait_until(lambda: not _cluster(shop)["fencedOut"], 20, "the refusal to clear")

        last = shop.enqueue(book.id)
        orders = shop.check_invariants([first, *in_doubt.values(), last], {book.id: before}, timeout_s=40)
        assert orders[in_doubt["c"]]["state"] == "COMMITTED"  # committed at one → committed at all
        assert orders[in_doubt["a"]]["state"] == "ABORTED"
        assert orders[last]["state"] == "COMMITTED"
        books.close()
        shop.close()

        # Data at rest: owner-only everywhere, for every service that ran (docs/operations.md). Certificates are
        # public by nature (every peer is shown them); their keys are checked with the rest.
        open_to_others = [
            f"{path} {oct(stat.S_IMODE(path.lstat().st_mode))}"
            for path in [rf.fleet.data_dir, *rf.fleet.data_dir.rglob("*")]
            if not path.is_symlink() and path.suffix != ".crt" and stat.S_IMODE(path.lstat().st_mode) & 0o077
        ]
        assert not open_to_others, open_to_others
        assert any(p.name.endswith("-wal") for p in rf.fleet.data_dir.rglob("*")), "SQLite's -wal files were checked"
