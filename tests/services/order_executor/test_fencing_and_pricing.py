"""Two protocol fixes (docs/operations.md): an order the executor cannot price is aborted through the decision log
(never reported ABORTED beside a logged COMMIT), and a refusal of the group's incarnation stops the transaction
without logging a decision and tells the worker (which leases nothing until the operator has run)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from order_executor.core.decision_log import encode_begin, encode_decision
from order_executor.core.order import Outcome
from order_executor.faults import CrashHook
from order_executor.participants import IncarnationRefused, VoteReply
from order_executor.transaction_runner import Flight, LostLeadership, Session, TransactionRunner
from testing.local_fleet import wait_until
from tests.services.order_executor.test_transaction_runner import FAST, ORDER, FakeParticipant, Harness


def test_an_unpriceable_order_is_aborted_through_the_log_and_the_participants_hear_it(tmp_path: Path) -> None:
    payment, books = FakeParticipant("payment_service"), FakeParticipant("books_database")
    h = Harness(tmp_path, payment, books)
    h.runner.abort_unpriceable(Session(3), Flight("o9", "lease-9"), "o9", "unknown book: X")
    assert h.reports == [("o9", Outcome.ABORT, "unknown book: X", "lease-9")]
    wait_until(lambda: h.ended("o9"), 5.0, "the batched END of o9", every_s=0.01)
    assert [json.loads(c)["op"] for c in h.proposed] == ["decide", "ends"]
    record = h.log.record("o9")
    assert record is not None and record.decision is Outcome.ABORT and record.ended
    assert [c[0] for c in payment.calls] == ["abort"] and [c[0] for c in books.calls] == ["abort"]


def test_an_unpriceable_order_with_a_logged_commit_is_reported_committed(tmp_path: Path) -> None:
    h = Harness(tmp_path, FakeParticipant("payment_service"), FakeParticipant("books_database"))
    h.propose(encode_begin(ORDER), 1.0)
    h.propose(encode_decision(ORDER.order_id, Outcome.COMMIT, ""), 1.0)
    h.runner.abort_unpriceable(Session(3), Flight(ORDER.order_id, "lease-2"), ORDER.order_id, "cannot price")
    assert h.log.record(ORDER.order_id).decision is Outcome.COMMIT  # type: ignore[union-attr]
    assert [(r[0], r[1]) for r in h.reports] == [(ORDER.order_id, Outcome.COMMIT)]


class RefusingParticipant(FakeParticipant):
    def prepare(self, order, term, timeout_s):  # type: ignore[no-untyped-def]
        self._record("prepare", order.order_id, term)
        raise IncarnationRefused("the executor group's incarnation changed: ... python -m order_executor.recover")


def test_a_refused_incarnation_logs_no_decision_and_tells_the_worker(tmp_path: Path) -> None:
    told: list[str] = []
    h = Harness(tmp_path, RefusingParticipant("payment_service"), FakeParticipant("books_database", VoteReply(True)))
    runner = TransactionRunner(
        h.propose,
        lambda term: True,
        h.participants,  # type: ignore[arg-type]
        h.report,
        FAST,
        CrashHook(None, tmp_path),
        h.calls,
        told.append,  # the worker's on_fenced_out
    )
    with pytest.raises(LostLeadership):
        runner.run_new(Session(3), Flight(ORDER.order_id, "lease-1"), ORDER)
    assert [json.loads(c)["op"] for c in h.proposed] == ["begin"]  # no ABORT: the old group may have committed
    assert told and "python -m order_executor.recover" in told[0]
    assert h.reports == []
