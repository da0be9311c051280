"""The one invariants checker (testing/invariants.py) passes a clean record and catches each broken fact with the
invariant it breaks: the chaos tool's runs and the container tests' records alike.
"""

from __future__ import annotations

import dataclasses

from testing.evidence import (
    Answer,
    BookStock,
    CheckoutRecord,
    ClientHistory,
    Evidence,
    LastCopies,
    OrderState,
    PaymentFact,
    ReplicaFact,
    Restock,
    StatusSample,
    TransactionFact,
)
from testing.invariants import (
    Violation,
    check_all,
    check_atomicity,
    check_conservation,
    check_exactly_once,
    check_no_oversell,
    check_nothing_lost,
    check_one_leader_per_term,
    maybe_placed,
    verdicts,
)
from testing.orders import OrderKind
from tests.chaos.builders import BOOK, checkout, clean_run, observed, state

CHECKS = (
    check_conservation,
    check_atomicity,
    check_nothing_lost,
    check_exactly_once,
    check_no_oversell,
    check_one_leader_per_term,
)


def test_a_clean_run_passes_every_check() -> None:
    run, evidence = clean_run()
    for check in CHECKS:
        assert check(run, evidence) == [], check.__name__
    assert all(v.holds for v in verdicts(run, evidence, []))


def test_I1_catches_stock_that_is_not_conserved() -> None:
    run, evidence = clean_run()
    short = dataclasses.replace(evidence, final_stock={BOOK: BookStock(9, 0)})  # 2 copies vanished
    [violation] = check_conservation(run, short)
    assert violation.invariant == "I1" and "off by -2" in violation.detail


def test_I1_catches_copies_left_reserved() -> None:
    run, evidence = clean_run()
    held = dataclasses.replace(evidence, final_stock={BOOK: BookStock(11, 1)})
    assert [v.invariant for v in check_conservation(run, held)] == ["I1"]


def test_I1_accepts_a_write_of_unknown_outcome_either_way() -> None:
    run, evidence = clean_run()
    unknown = dataclasses.replace(run, restocks=(*run.restocks, Restock(BOOK, 4, 4.0, None, False)))
    applied = dataclasses.replace(evidence, final_stock={BOOK: BookStock(15, 0)})
    assert check_conservation(unknown, evidence) == []  # not applied
    assert check_conservation(unknown, applied) == []  # applied
    wrong = dataclasses.replace(evidence, final_stock={BOOK: BookStock(13, 0)})
    assert len(check_conservation(unknown, wrong)) == 1  # neither explains 13


def test_I2_catches_a_commit_without_capture_and_an_abort_with_decrement() -> None:
    run, evidence = clean_run()
    payments = {**evidence.payments, "o1": PaymentFact("VOIDED")}
    transactions = {**evidence.transactions, "o2": TransactionFact("COMMITTED", ((BOOK, 1),))}
    broken = dataclasses.replace(evidence, payments=payments, transactions=transactions)
    assert sorted(v.subject for v in check_atomicity(run, broken)) == ["o1", "o2"]


def test_I2_catches_the_wrong_items_decremented_and_unverifiable_facts() -> None:
    run, evidence = clean_run()
    wrong = dataclasses.replace(
        evidence, transactions={**evidence.transactions, "o1": TransactionFact("COMMITTED", ((BOOK, 4),))}
    )
    assert "decremented" in check_atomicity(run, wrong)[0].detail
    unreadable = dataclasses.replace(evidence, payments={**evidence.payments, "o1": PaymentFact("UNREADABLE")})
    assert "could not verify" in check_atomicity(run, unreadable)[0].detail


def test_I3_catches_a_lost_order_a_late_one_and_a_changed_outcome() -> None:
    run, evidence = clean_run()
    lost = observed(
        [*run.checkouts, checkout(4, "o3")],
        [s for ss in run.order_states.values() for s in ss] + [state("o3", "QUEUED", 2.0)],
    )
    [violation] = check_nothing_lost(lost, evidence)
    assert violation.subject == "o3" and violation.detail.startswith("not final")
    late = observed(
        [*run.checkouts, checkout(4, "o3")],
        [s for ss in run.order_states.values() for s in ss] + [state("o3", "COMMITTED", 40.0)],
    )
    assert "after healing" in check_nothing_lost(late, evidence)[0].detail
    flipped = observed(
        list(run.checkouts), [s for ss in run.order_states.values() for s in ss] + [state("o1", "ABORTED", 9.0)]
    )
    assert "later ABORTED" in check_nothing_lost(flipped, evidence)[0].detail


def test_I3_gives_an_order_approved_after_healing_its_own_settle_time() -> None:
    run, evidence = clean_run()
    burst = observed(
        [*run.checkouts, checkout(4, "o4", sent=30.0, answered=30.2)],
        [s for ss in run.order_states.values() for s in ss] + [state("o4", "COMMITTED", 33.0)],
    )
    assert check_nothing_lost(burst, evidence) == []


def test_I4_catches_a_double_capture_and_a_replay_answering_another_order() -> None:
    run, evidence = clean_run()
    double = dataclasses.replace(evidence, payments={**evidence.payments, "o1": PaymentFact("CAPTURED", 4000)})
    assert "captured 4000 cents" in check_exactly_once(run, double)[0].detail
    replayed = observed(
        [checkout(1, "o1", 2, replayed=("o1", "o9"))], [s for ss in run.order_states.values() for s in ss]
    )
    assert "other orders ['o9']" in check_exactly_once(replayed, evidence)[0].detail
    twice = observed([checkout(1, "o1", 2), checkout(2, "o1", 2)], [])
    assert "2 different checkouts" in check_exactly_once(twice, evidence)[0].detail


def test_I5_catches_an_oversell_and_a_wrong_last_copies_count() -> None:
    run, evidence = clean_run()
    negative = dataclasses.replace(evidence, final_stock={BOOK: BookStock(-1, 0)})
    assert any(v.invariant == "I5" for v in check_no_oversell(run, negative))
    oversold = LastCopies("book_b", copies=3, buyers=8, approved=8, committed=4, final_stock=-1)
    assert check_no_oversell(run, dataclasses.replace(evidence, last_copies=oversold))
    undersold = LastCopies("book_b", copies=3, buyers=8, approved=8, committed=2, final_stock=1)
    assert "expected 3" in check_no_oversell(run, dataclasses.replace(evidence, last_copies=undersold))[0].detail
    exact = LastCopies("book_b", copies=3, buyers=8, approved=8, committed=3, final_stock=0)
    assert check_no_oversell(run, dataclasses.replace(evidence, last_copies=exact)) == []


def test_I5_catches_more_committed_than_ever_in_stock() -> None:
    run, evidence = clean_run()
    greedy = observed([checkout(1, "o1", 12)], [state("o1", "COMMITTED", 2.0)])
    assert any("committed 12 copies of 10" in v.detail for v in check_no_oversell(greedy, evidence))


def test_I6_catches_two_leaders_in_one_term() -> None:
    run, evidence = clean_run()
    samples = (
        StatusSample(1.0, "books_database", "books-1", "leader", 4, "books-1", 10),
        StatusSample(1.0, "books_database", "books-2", "follower", 4, "books-1", 10),
        StatusSample(2.0, "books_database", "books-2", "leader", 4, "books-2", 11),
    )
    [violation] = check_one_leader_per_term(dataclasses.replace(run, status_samples=samples), evidence)
    assert violation.subject == "books_database term 4" and "books-1, books-2" in violation.detail


def test_I6_catches_diverged_replicas_and_one_that_never_came_back() -> None:
    run, evidence = clean_run()
    replicas = (
        ReplicaFact("books_database", "books-1", True, 50, "aaa"),
        ReplicaFact("books_database", "books-2", True, 50, "bbb"),
        ReplicaFact("order_executor", "executor-3", False),
    )
    violations = check_one_leader_per_term(run, dataclasses.replace(evidence, replicas=replicas))
    assert sorted(v.subject for v in violations) == ["books_database index 50", "order_executor executor-3"]


def test_a_refusal_saying_not_placed_is_trusted_and_a_bare_500_is_not() -> None:
    refused = dataclasses.replace(
        checkout(9, None, 1, Answer.REFUSED), http_status=503, error_code="DEPENDENCY_UNAVAILABLE"
    )
    assert not maybe_placed(refused)
    assert maybe_placed(dataclasses.replace(refused, http_status=500, error_code="INTERNAL"))
    assert maybe_placed(checkout(9, None, 1, Answer.NO_ANSWER))
    # trusted, so an order that was placed after all shows up as unaccounted stock (I1)
    run, evidence = clean_run()
    placed_anyway = dataclasses.replace(evidence, final_stock={BOOK: BookStock(10, 0)})
    assert check_conservation(dataclasses.replace(run, checkouts=(*run.checkouts, refused)), placed_anyway)


# ---- the container tests' records: every checkout retried until answered, facts read inside the fleet ----------

DOCKER_BOOK = "book_101_clean_code"


def answered(
    sequence: int, order_id: str | None, quantity: int, answer: Answer = Answer.APPROVED, ambiguous_attempts: int = 0
) -> CheckoutRecord:
    return CheckoutRecord(
        sequence,
        OrderKind.VALID,
        ((DOCKER_BOOK, quantity),),
        0.0,
        0.0,
        answer,
        order_id,
        200 if answer is not Answer.NO_ANSWER else None,
        1,
        ambiguous_attempts=ambiguous_attempts,
    )


def final(order_id: str, name: str, total: str, reason: str = "") -> OrderState:
    return OrderState(order_id, name, reason, total, 0.0)


def container_record() -> tuple[ClientHistory, Evidence]:
    """Stock 40; a (2 copies) committed for 69.98, b aborted by the payment service, r rejected at validation."""
    history = ClientHistory(
        (answered(1, "a", 2), answered(2, "b", 1), answered(3, "r", 1, Answer.REJECTED)),
        {
            "a": (final("a", "COMMITTED", "69.98"),),
            "b": (final("b", "ABORTED", "34.99", "payment_service voted abort"),),
        },
    )
    evidence = Evidence(
        initial_stock={DOCKER_BOOK: 40},
        final_stock={DOCKER_BOOK: BookStock(38, 0)},
        payments={"a": PaymentFact("CAPTURED", 6998), "b": PaymentFact("VOIDED", 3499), "r": PaymentFact("NONE")},
        transactions={
            "a": TransactionFact("COMMITTED", ((DOCKER_BOOK, 2),)),
            "b": TransactionFact("ABORTED", ((DOCKER_BOOK, 1),)),
            "r": TransactionFact("NONE"),
        },
        healed_at_s=0.0,
        settle_s=10.0,
        unanswered_is_lost=True,
    )
    return history, evidence


def broken(change: str) -> list[Violation]:
    history, evidence = container_record()
    stock, payments, transactions = dict(evidence.final_stock), dict(evidence.payments), dict(evidence.transactions)
    if change == "stock off":
        stock[DOCKER_BOOK] = BookStock(37, 0)
    elif change == "still reserved":
        stock[DOCKER_BOOK] = BookStock(38, 1)
    elif change == "committed, not captured":
        payments["a"] = PaymentFact("VOIDED", 6998)
    elif change == "aborted, decremented":
        transactions["b"] = TransactionFact("COMMITTED", ((DOCKER_BOOK, 1),))
    elif change == "rejected, charged":
        payments["r"] = PaymentFact("CAPTURED")
    elif change == "captured twice":
        payments["a"] = PaymentFact("CAPTURED", 2 * 6998)
    elif change == "decremented twice":
        transactions["a"] = TransactionFact("COMMITTED", ((DOCKER_BOOK, 4),))
    elif change == "below zero":
        stock[DOCKER_BOOK] = BookStock(-1, 0)
    return check_all(
        history, dataclasses.replace(evidence, final_stock=stock, payments=payments, transactions=transactions)
    )


def test_a_clean_container_record_holds() -> None:
    assert check_all(*container_record()) == []


def test_each_broken_fact_is_caught_by_its_invariant() -> None:
    expected = {
        "stock off": "I1",
        "still reserved": "I1",
        "committed, not captured": "I2",
        "aborted, decremented": "I2",
        "rejected, charged": "I2",
        "captured twice": "I4",
        "decremented twice": "I2",
        "below zero": "I5",
    }
    for change, invariant in expected.items():
        problems = broken(change)
        assert any(p.invariant == invariant for p in problems), f"{change}: {problems}"


def test_lost_and_unfinished_orders_fail_i3() -> None:
    history, evidence = container_record()
    unfinished = dataclasses.replace(
        history, checkouts=(*history.checkouts, answered(4, None, 1, Answer.NO_ANSWER), answered(5, "c", 1))
    )
    problems = check_all(unfinished, evidence)
    assert any(p.invariant == "I3" and p.subject == "c" for p in problems)
    assert any(p.invariant == "I3" and "never answered" in p.detail for p in problems)


def test_a_lost_answer_may_explain_missing_stock_but_nothing_else() -> None:
    history, evidence = container_record()
    lost = ClientHistory(
        (*history.checkouts, answered(4, "c", 1, ambiguous_attempts=1)),
        {**history.order_states, "c": (final("c", "ABORTED", "34.99"),)},
    )
    evidence = dataclasses.replace(
        evidence,
        final_stock={DOCKER_BOOK: BookStock(37, 0)},  # one copy gone beyond the known sales
        payments={**evidence.payments, "c": PaymentFact("VOIDED")},
        transactions={**evidence.transactions, "c": TransactionFact("ABORTED")},
    )
    assert check_all(lost, evidence) == []
    two_gone = dataclasses.replace(evidence, final_stock={DOCKER_BOOK: BookStock(36, 0)})  # more than it explains
    assert any(p.invariant == "I1" for p in check_all(lost, two_gone))


def test_last_copies_sell_exactly_k() -> None:
    history, evidence = container_record()

    def burst(committed: int, final_stock: int, other_aborts: int = 0) -> list[Violation]:
        copies = LastCopies(
            DOCKER_BOOK,
            copies=3,
            buyers=5,
            approved=5,
            committed=committed,
            final_stock=final_stock,
            other_aborts=other_aborts,
        )
        return check_no_oversell(history, dataclasses.replace(evidence, last_copies=copies))

    assert burst(3, 0) == []
    assert any("4 committed" in p.detail for p in burst(4, -1))
    assert burst(2, 1) != []
    assert burst(2, 1, other_aborts=1) == []  # an abort for another reason than stock: k is not owed
