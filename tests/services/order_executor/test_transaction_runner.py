"""The transaction runner with fake participants and an in-memory log: effects carried out in the right order,
prepare deadlines, phase-2 retries, fencing, and resuming from the log instead of restarting.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from order_executor.core.decision_log import Applied, DecisionLog, encode_begin, encode_decision
from order_executor.core.end_batch import EndBatchLimits
from order_executor.core.order import Item, OrderSummary, Outcome
from order_executor.faults import CrashHook
from order_executor.participants import Fenced, NoAnswer, VoteReply
from order_executor.transaction_runner import Flight, LostLeadership, Session, Timing, TransactionRunner
from testing.local_fleet import wait_until

ORDER = OrderSummary("o1", (Item("b1", 1, 999),), 999, "tok", "1111")
FAST = Timing(
    prepare_timeout_s=0.3,
    phase2_attempt_timeout_s=0.2,
    phase2_backoff_initial_s=0.01,
    phase2_backoff_max_s=0.02,
    log_timeout_s=1.0,
)


@dataclass
class FakeParticipant:
    name: str
    vote: VoteReply = VoteReply(True)
    prepare_delay_s: float = 0.0
    decision_failures: int = 0  # phase-2 calls that fail before one succeeds
    fenced: bool = False
    calls: list[tuple[str, str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _record(self, what: str, tx_id: str, term: int) -> None:
        with self.lock:
            self.calls.append((what, tx_id, term))

    def prepare(self, order: OrderSummary, term: int, timeout_s: float) -> VoteReply:
        self._record("prepare", order.order_id, term)
        if self.fenced:
            raise Fenced("stale coordinator term")
        if self.prepare_delay_s > timeout_s:
            time.sleep(timeout_s)
            raise NoAnswer("DEADLINE_EXCEEDED: slow")
        return self.vote

    def _decide(self, what: str, tx_id: str, term: int) -> None:
        self._record(what, tx_id, term)
        if self.fenced:
            raise Fenced("stale coordinator term")
        with self.lock:
            if self.decision_failures > 0:
                self.decision_failures -= 1
                raise NoAnswer("UNAVAILABLE: down")

    def commit(self, tx_id: str, term: int, timeout_s: float) -> None:
        self._decide("commit", tx_id, term)

    def abort(self, tx_id: str, term: int, timeout_s: float) -> None:
        self._decide("abort", tx_id, term)


class Harness:
    def __init__(self, tmp_path: Path, payment: FakeParticipant, books: FakeParticipant, timing: Timing = FAST) -> None:
        self.log = DecisionLog()
        self.index = 0
        self.lock = threading.Lock()
        self.proposed: list[bytes] = []
        self.reports: list[tuple[str, Outcome, str, str]] = []
        self.leader = True
        self.participants = {"payment_service": payment, "books_database": books}
        self.calls = ThreadPoolExecutor(max_workers=8)
        self.runner = TransactionRunner(
            self.propose,
            lambda term: self.leader,
            self.participants,  # type: ignore[arg-type]
            self.report,
            timing,
            CrashHook(None, tmp_path),
            self.calls,
        )

    def propose(self, command: bytes, timeout_s: float) -> Applied:
        with self.lock:
            self.index += 1
            self.proposed.append(command)
            return self.log.apply(self.index, command)

    def report(self, order: OrderSummary, outcome: Outcome, reason: str, lease_id: str) -> None:
        self.reports.append((order.order_id, outcome, reason, lease_id))

    def run(self, order: OrderSummary = ORDER, term: int = 3, session: Session | None = None) -> None:
        self.runner.run_new(session or Session(term), Flight(order.order_id, "lease-1"), order)

    def ops(self) -> list[tuple[str, list[str]]]:
        """Each proposed command's op and the ENDs it carried."""
        with self.lock:
            bodies = [json.loads(c) for c in self.proposed]
        return [(b["op"], b.get("ends", [])) for b in bodies]

    def ended(self, tx_id: str) -> bool:
        with self.lock:
            record = self.log.record(tx_id)
        return record is not None and record.ended


Fakes = tuple[FakeParticipant, FakeParticipant]


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    yield FakeParticipant("payment_service"), FakeParticipant("books_database")


def test_all_commit_logs_begin_decision_end_in_order_and_reports_commit(tmp_path: Path, fakes: Fakes) -> None:
    payment, books = fakes
    h = Harness(tmp_path, payment, books)
    h.run()
    # Reported once every participant acked; the END follows on its own after the batch's wait bound.
    assert h.reports == [("o1", Outcome.COMMIT, "", "lease-1")]
    wait_until(lambda: h.ended("o1"), 5.0, "the batched END of o1", every_s=0.01)
    assert h.ops() == [("begin", []), ("decide", []), ("ends", ["o1"])]
    for fake in (payment, books):
        assert [c[0] for c in fake.calls] == ["prepare", "commit"] and {c[2] for c in fake.calls} == {3}


def test_an_abort_vote_aborts_everywhere_with_the_reason(tmp_path: Path, fakes: Fakes) -> None:
    payment, books = fakes
    payment.vote = VoteReply(False, "card declined")
    h = Harness(tmp_path, payment, books)
    h.run()
    assert h.reports == [("o1", Outcome.ABORT, "card declined", "lease-1")]
    assert ("abort", "o1", 3) in books.calls and ("abort", "o1", 3) in payment.calls


def test_a_slow_participant_misses_the_prepare_deadline_and_the_decision_is_abort(tmp_path: Path, fakes: Fakes) -> None:
    payment, books = fakes
    books.prepare_delay_s = 5.0
    h = Harness(tmp_path, payment, books)
    started = time.monotonic()
    h.run()
    assert time.monotonic() - started < 2.0
    assert h.reports == [("o1", Outcome.ABORT, "books_database did not answer prepare in time", "lease-1")]


def test_phase2_is_retried_until_every_participant_acknowledges(tmp_path: Path, fakes: Fakes) -> None:
    payment, books = fakes
    payment.decision_failures = 3
    h = Harness(tmp_path, payment, books)
    h.run()
    assert [c[0] for c in payment.calls].count("commit") == 4
    assert [c[0] for c in books.calls].count("commit") == 1, "an acknowledged participant is not asked again"
    assert h.reports[0][1] is Outcome.COMMIT


def test_a_fenced_coordinator_stops_without_deciding(tmp_path: Path, fakes: Fakes) -> None:
    payment, books = fakes
    payment.fenced = True
    h = Harness(tmp_path, payment, books)
    with pytest.raises(LostLeadership):
        h.run()
    record = h.log.record("o1")
    assert record is not None and record.decision is None and h.reports == []


def test_losing_leadership_stops_before_the_next_step(tmp_path: Path, fakes: Fakes) -> None:
    payment, books = fakes
    h = Harness(tmp_path, payment, books)
    h.leader = False
    with pytest.raises(LostLeadership):
        h.run()
    assert payment.calls == [] and books.calls == []


def test_an_order_already_decided_in_the_log_is_resumed_not_restarted(tmp_path: Path, fakes: Fakes) -> None:
    payment, books = fakes
    h = Harness(tmp_path, payment, books)
    h.propose(encode_begin(ORDER), 1.0)
    h.propose(encode_decision("o1", Outcome.COMMIT, ""), 1.0)
    h.run()  # leased again after a crash: BEGIN finds the record
    assert [c[0] for c in payment.calls] == ["commit"], "no second Prepare"
    assert h.reports == [("o1", Outcome.COMMIT, "", "lease-1")]


def test_an_order_begun_without_a_decision_by_an_earlier_leader_is_presumed_abort(tmp_path: Path, fakes: Fakes) -> None:
    payment, books = fakes
    h = Harness(tmp_path, payment, books)
    h.propose(encode_begin(ORDER), 1.0)
    h.run()
    assert [c[0] for c in payment.calls] == ["abort"]
    assert h.reports == [("o1", Outcome.ABORT, "coordinator failed before deciding", "lease-1")]


SLOW_ENDS = Timing(
    prepare_timeout_s=0.3,
    phase2_attempt_timeout_s=0.2,
    phase2_backoff_initial_s=0.01,
    phase2_backoff_max_s=0.02,
    log_timeout_s=1.0,
    ends=EndBatchLimits(per_entry_max=2, wait_max_s=30.0, pending_max=4),
)


def second(order_id: str) -> OrderSummary:
    return OrderSummary(order_id, (Item("b1", 1, 999),), 999, "tok", "1111")


def test_ends_ride_on_the_next_begin_and_decision_instead_of_entries_of_their_own(tmp_path: Path, fakes: Fakes) -> None:
    h = Harness(tmp_path, *fakes, timing=SLOW_ENDS)
    session = Session(3)
    h.run(ORDER, session=session)
    h.run(second("o2"), session=session)
    h.run(second("o3"), session=session)
    # o1's END rides on o2's BEGIN, o2's on o3's BEGIN; o3's waits for the next proposal (the bound is 30 s here).
    assert h.ops() == [
        ("begin", []),
        ("decide", []),
        ("begin", ["o1"]),
        ("decide", []),
        ("begin", ["o2"]),
        ("decide", []),
    ]
    assert h.ended("o1") and h.ended("o2") and not h.ended("o3")
    assert [r[0] for r in h.reports] == ["o1", "o2", "o3"]
    session.stopped.set()


def test_a_full_batch_is_logged_at_once_as_one_entry(tmp_path: Path, fakes: Fakes) -> None:
    h = Harness(tmp_path, *fakes, timing=SLOW_ENDS)
    session = Session(3)
    ends = h.runner._ends(session)  # noqa: SLF001 - the term's batcher, as the runner hands ENDs to it
    for tx_id in ("o1", "o2"):
        h.propose(encode_begin(second(tx_id)), 1.0)
        h.propose(encode_decision(tx_id, Outcome.ABORT, "x"), 1.0)
        ends.add(tx_id)
    wait_until(lambda: h.ended("o1") and h.ended("o2"), 5.0, "the full batch logged", every_s=0.01)
    assert h.ops()[-1] == ("ends", ["o1", "o2"]) and len(h.ops()) == 5
    session.stopped.set()


def test_ends_held_when_leadership_is_lost_are_dropped_and_recovery_resends_the_decision(
    tmp_path: Path, fakes: Fakes
) -> None:
    h = Harness(tmp_path, *fakes)
    h.propose(encode_begin(ORDER), 1.0)
    h.propose(encode_decision(ORDER.order_id, Outcome.COMMIT, ""), 1.0)
    session = Session(3)
    ends = h.runner._ends(session)  # noqa: SLF001 - the term's batcher, as the runner hands ENDs to it
    ends.add(ORDER.order_id)
    session.stopped.set()  # the term ends before the batch is due (0.25 s)
    wait_until(ends.idle, 5.0, "the flusher to drop the batch", every_s=0.01)
    assert [op for op, _ in h.ops()] == ["begin", "decide"] and ends.pending() == 0
    ends.add("o2")  # after the term: dropped at once, never proposed by a deposed leader
    assert ends.pending() == 0 and ends.idle()
    # The next leader finds o1 open with its decision, and sends it again (idempotent at the participants).
    record = h.log.record("o1")
    assert record is not None and h.log.open_records() == [record]
