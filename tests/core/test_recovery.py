"""Table tests of recovery: what a new leader (or a second lease of the same order) does with each log record.

Rules: resend a logged decision; presume abort when none was logged; never restart a logged transaction.
"""

from __future__ import annotations

import pytest

from order_executor.core.order import Item, OrderSummary, Outcome, TxRecord
from order_executor.core.recovery import (
    AlreadyRunning,
    PresumeAbort,
    ReportEnded,
    ResendDecision,
    RunNew,
    plan_for,
    plan_recovery,
)


def order(oid: str) -> OrderSummary:
    return OrderSummary(oid, (Item("b1", 1, 500),), 500, "tok", "4242")


@pytest.mark.parametrize(
    "record, in_flight, expected",
    [
        (None, set(), RunNew(order("o1"))),
        (TxRecord(order("o1"), 3), set(), PresumeAbort(order("o1"))),
        (TxRecord(order("o1"), 3, Outcome.COMMIT), set(), ResendDecision(order("o1"), Outcome.COMMIT, "")),
        (
            TxRecord(order("o1"), 3, Outcome.ABORT, "declined"),
            set(),
            ResendDecision(order("o1"), Outcome.ABORT, "declined"),
        ),
        (
            TxRecord(order("o1"), 3, Outcome.ABORT, "declined", ended=True),
            set(),
            ReportEnded(order("o1"), Outcome.ABORT, "declined"),
        ),
        (TxRecord(order("o1"), 3), {"o1"}, AlreadyRunning("o1")),
        (None, {"o1"}, AlreadyRunning("o1")),
    ],
    ids=[
        "rule_no_record_runs_new",
        "rule_begun_without_decision_presumes_abort",
        "rule_logged_commit_is_resent",
        "rule_logged_abort_is_resent",
        "rule_ended_is_only_reported",
        "rule_running_here_is_not_run_twice",
        "rule_in_flight_wins_over_missing_record",
    ],
)
def test_plan_for_a_leased_order(record: TxRecord | None, in_flight: set[str], expected: object) -> None:
    assert plan_for(order("o1"), record, in_flight) == expected


def test_rule_recovery_finishes_open_transactions_oldest_begin_first_skipping_those_running_here() -> None:
    records = [TxRecord(order("o3"), 30, Outcome.COMMIT), TxRecord(order("o1"), 10), TxRecord(order("o2"), 20)]
    assert plan_recovery(records, {"o2"}) == [
        PresumeAbort(order("o1")),
        ResendDecision(order("o3"), Outcome.COMMIT, ""),
    ]


def test_rule_recovery_uses_the_summary_in_the_log_not_the_queue_copy() -> None:
    logged = OrderSummary("o1", (Item("b1", 2, 500),), 1000, "tok", "4242")
    assert plan_for(order("o1"), TxRecord(logged, 1, Outcome.COMMIT), set()) == ResendDecision(
        logged, Outcome.COMMIT, ""
    )


def test_misuse_an_ended_record_is_not_open() -> None:
    with pytest.raises(ValueError):
        plan_recovery([TxRecord(order("o1"), 1, Outcome.COMMIT, ended=True)], set())
