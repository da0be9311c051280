"""The coordinator fails at each window of 2PC (EXECUTOR_CRASH_AT), and a slow participant misses its deadline.

Each case runs its own small fleet (no validation services: orders go straight to the queue, as after
approval) and ends with I1–I5 checked through GET /orders and the participants' reads.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from testing.fleet_env import EXECUTION, FLEET_ENV
from testing.local_fleet import Shop, running_fleet, wait_until
from tests.e2e.execution import book
from utils.pb.books_database import books_database_pb2 as books_pb
from utils.pb.payment_service import payment_service_pb2 as pay_pb

pytestmark = [pytest.mark.fleet, pytest.mark.timeout(180)]


@contextmanager
def shop_with(tmp_path: Path, env: dict[str, str]) -> Iterator[Shop]:
    with running_fleet(tmp_path, only=EXECUTION, extra_env={**FLEET_ENV, **env}) as rf:
        shop = Shop(rf)
        try:
            yield shop
        finally:
            shop.close()


def _exited(shop: Shop, name: str) -> bool:
    return shop.rf.fleet.processes[name].poll() is not None


def _stopped(shop: Shop, name: str) -> bool:
    """True while the process is paused by SIGSTOP (state T in /proc)."""
    pid = shop.rf.fleet.processes[name].pid
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] == "T"


def _crash_then_recover(shop: Shop, book_id: str) -> tuple[str, str]:
    """Places one order; the leader kills itself at the armed point; another replica finishes the order."""
    leader, _ = shop.executor_leader()
    oid = shop.enqueue(book_id)
    wait_until(lambda: _exited(shop, leader), 20, f"{leader} to crash at the armed point")
    shop.executor_leader(not_in=(leader,))
    return leader, oid


def _restart_and_commit_another(shop: Shop, crashed: str, book_id: str, before: int, first: str) -> None:
    """The crashed replica rejoins; the crash point fired once, so the next order runs normally."""
    shop.rf.fleet.start(crashed)
    shop.rf.fleet.wait_healthy([crashed])
    second = shop.enqueue(book_id)
    orders = shop.check_invariants([first, second], {book_id: before})
    assert orders[second]["state"] == "COMMITTED"


def test_coordinator_killed_after_prepare_before_the_decision_is_presumed_abort(tmp_path: Path) -> None:
    with shop_with(tmp_path, {"EXECUTOR_CRASH_AT": "after_prepare"}) as shop:
        book_id, _, _ = book(10)
        before = int(shop.stock(book_id).stock)
        crashed, oid = _crash_then_recover(shop, book_id)
        orders = shop.check_invariants([oid], {book_id: before})
        assert (orders[oid]["state"], orders[oid]["reason"]) == ("ABORTED", "coordinator failed before deciding")
        _restart_and_commit_another(shop, crashed, book_id, before, oid)


def test_narrative_coordinator_fails_mid_2pc_killed_after_the_decision_is_logged(tmp_path: Path) -> None:
    with shop_with(tmp_path, {"EXECUTOR_CRASH_AT": "after_decision"}) as shop:
        book_id, _, _ = book(11)
        before = int(shop.stock(book_id).stock)
        crashed, oid = _crash_then_recover(shop, book_id)
        orders = shop.check_invariants([oid], {book_id: before})
        assert orders[oid]["state"] == "COMMITTED", "the new leader resends the logged COMMIT"
        _timeline_shows_the_recovery(shop, oid, crashed)
        _restart_and_commit_another(shop, crashed, book_id, before, oid)


def _timeline_shows_the_recovery(shop: Shop, oid: str, crashed: str) -> None:
    """The order page's 2PC timeline (docs/drawings.md) survives the leader: the survivors applied the decision,
    and the new leader's recovery and acks follow it, in a later term."""
    steps = shop.http.get(f"{shop.rf.api}/orders/{oid}/twopc", timeout=10).json()["steps"]
    decision = next(s for s in steps if s["kind"] == "decision_logged")
    recovery = next(s for s in steps if s["kind"] == "recovery")
    assert decision["detail"].startswith("COMMIT") and decision["index"] and crashed not in recovery["node"]
    assert recovery["term"] > decision["term"] and recovery["detail"] == "resend the logged decision COMMIT"
    acks = {s["participant"] for s in steps if s["kind"] == "ack" and s["ok"] and s["node"] == recovery["node"]}
    assert acks == {"books_database", "payment_service"}


def test_coordinator_killed_during_phase2_the_new_leader_finishes_it(tmp_path: Path) -> None:
    with shop_with(tmp_path, {"EXECUTOR_CRASH_AT": "during_phase2"}) as shop:
        book_id, _, _ = book(12)
        before = int(shop.stock(book_id).stock)
        crashed, oid = _crash_then_recover(shop, book_id)
        orders = shop.check_invariants([oid], {book_id: before})
        assert orders[oid]["state"] == "COMMITTED"
        _restart_and_commit_another(shop, crashed, book_id, before, oid)


def test_a_deposed_coordinator_resumed_after_sigstop_is_refused_by_term(tmp_path: Path) -> None:
    env = {"EXECUTOR_CRASH_AT": "after_decision", "EXECUTOR_CRASH_SIGNAL": "SIGSTOP"}
    with shop_with(tmp_path, env) as shop:
        book_id, _, _ = book(13)
        before = int(shop.stock(book_id).stock)
        old, old_term = shop.executor_leader()
        oid = shop.enqueue(book_id)
        wait_until(lambda: _stopped(shop, old), 20, f"{old} to stop itself after logging the decision")
        _, new_term = shop.executor_leader(not_in=(old,))
        assert new_term > old_term
        shop.check_invariants([oid], {book_id: before})  # the new leader finished it
        shop.rf.fleet.signal(old, signal.SIGCONT)  # the old leader wakes up mid-phase-2
        wait_until(
            lambda: _refused(shop.rf.fleet.log_path("payment_service"), oid, old_term),
            20,
            "the payment service to refuse the deposed coordinator's Commit",
        )
        orders = shop.check_invariants([oid], {book_id: before})
        assert orders[oid]["state"] == "COMMITTED"
        payment = shop.payment_state(oid)
        assert payment.coordinator_term == new_term, "captured by the new leader, once"
        assert int(shop.stock(book_id).stock) == before - 1, "decremented once"
        tx = shop.books.get_transaction(oid)
        assert tx is not None and tx.state == books_pb.COMMITTED and tx.coordinator_term >= new_term


def test_narrative_participant_times_out_and_the_decision_is_abort_everywhere(tmp_path: Path) -> None:
    # The payment service answers every Prepare after 3 s; the coordinator waits 2 s.
    with shop_with(tmp_path, {"PAYMENT_DELAY_MS": "3000"}) as shop:
        book_id, _, _ = book(14)
        before = int(shop.stock(book_id).stock)
        shop.executor_leader()
        oid = shop.enqueue(book_id)
        orders = shop.check_invariants([oid], {book_id: before})
        assert orders[oid]["state"] == "ABORTED"
        assert orders[oid]["reason"] == "payment_service did not answer prepare in time"
        # The late Prepare arrives after the Abort: it votes ABORT and holds nothing.
        wait_until(
            lambda: (
                _events(shop.rf.fleet.log_path("payment_service"), oid)
                >= {"aborted_before_prepare", "stale_prepare_after_abort"}
            ),
            10,
            "the late Prepare to be refused",
        )
        assert shop.payment_state(oid).state == pay_pb.PAYMENT_STATE_VOIDED


def _records(path: Path) -> Iterator[dict[str, object]]:
    for line in path.read_text().splitlines():
        try:
            yield json.loads(line)
        except ValueError:
            continue


def _refused(path: Path, tx_id: str, term: int) -> bool:
    return any(
        r.get("tx_id") == tx_id and r.get("event") == "stale_term" and r.get("term") == term for r in _records(path)
    )


def _events(path: Path, tx_id: str) -> set[str]:
    return {str(r["event"]) for r in _records(path) if r.get("tx_id") == tx_id and "event" in r}
