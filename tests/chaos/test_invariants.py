"""Each invariant check passes a clean run and catches a planted violation of its own rule."""
from __future__ import annotations

import dataclasses

from chaos.evidence import BookStock, LastCopies, PaymentFact, ReplicaFact, TransactionFact
from chaos.invariants import (check_atomicity, check_conservation, check_exactly_once, check_no_oversell,
                              check_nothing_lost, check_one_leader_per_term)
from chaos.records import Answer, Restock, StatusSample, StockRead
from chaos.stock_history import check_stock_reads
from tests.chaos.builders import BOOK, checkout, clean_run, observed, state

CHECKS = (check_conservation, check_atomicity, check_nothing_lost, check_exactly_once, check_no_oversell,
          check_one_leader_per_term)


def test_a_clean_run_passes_every_check() -> None:
    run, evidence = clean_run()
    for check in CHECKS:
        assert check(run, evidence) == [], check.__name__
    assert check_stock_reads(run, evidence.initial_stock)[0] == []


def test_I1_catches_stock_that_is_not_conserved() -> None:
    run, evidence = clean_run()
    short = dataclasses.replace(evidence, final_stock={BOOK: BookStock(9, 0)})   # 2 copies vanished
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
    assert check_conservation(unknown, evidence) == []      # not applied
    assert check_conservation(unknown, applied) == []       # applied
    wrong = dataclasses.replace(evidence, final_stock={BOOK: BookStock(13, 0)})
    assert len(check_conservation(unknown, wrong)) == 1     # neither explains 13


def test_I2_catches_a_commit_without_capture_and_an_abort_with_decrement() -> None:
    run, evidence = clean_run()
    payments = {**evidence.payments, "o1": PaymentFact("VOIDED")}
    transactions = {**evidence.transactions, "o2": TransactionFact("COMMITTED", ((BOOK, 1),))}
    broken = dataclasses.replace(evidence, payments=payments, transactions=transactions)
    assert sorted(v.subject for v in check_atomicity(run, broken)) == ["o1", "o2"]


def test_I2_catches_the_wrong_items_decremented_and_unverifiable_facts() -> None:
    run, evidence = clean_run()
    wrong = dataclasses.replace(evidence, transactions={**evidence.transactions,
                                                        "o1": TransactionFact("COMMITTED", ((BOOK, 4),))})
    assert "decremented" in check_atomicity(run, wrong)[0].detail
    unreadable = dataclasses.replace(evidence, payments={**evidence.payments, "o1": PaymentFact("UNREADABLE")})
    assert "could not verify" in check_atomicity(run, unreadable)[0].detail


def test_I3_catches_a_lost_order_a_late_one_and_a_changed_outcome() -> None:
    run, evidence = clean_run()
    lost = observed([*run.checkouts, checkout(4, "o3")], [s for ss in run.order_states.values() for s in ss]
                    + [state("o3", "QUEUED", 2.0)])
    [violation] = check_nothing_lost(lost, evidence)
    assert violation.subject == "o3" and violation.detail.startswith("not final")
    late = observed([*run.checkouts, checkout(4, "o3")], [s for ss in run.order_states.values() for s in ss]
                    + [state("o3", "COMMITTED", 40.0)])
    assert "after healing" in check_nothing_lost(late, evidence)[0].detail
    flipped = observed(list(run.checkouts), [s for ss in run.order_states.values() for s in ss]
                       + [state("o1", "ABORTED", 9.0)])
    assert "later ABORTED" in check_nothing_lost(flipped, evidence)[0].detail


def test_I3_gives_an_order_approved_after_healing_its_own_settle_time() -> None:
    run, evidence = clean_run()
    burst = observed([*run.checkouts, checkout(4, "o4", sent=30.0, answered=30.2)],
                     [s for ss in run.order_states.values() for s in ss] + [state("o4", "COMMITTED", 33.0)])
    assert check_nothing_lost(burst, evidence) == []


def test_I4_catches_a_double_capture_and_a_replay_answering_another_order() -> None:
    run, evidence = clean_run()
    double = dataclasses.replace(evidence, payments={**evidence.payments, "o1": PaymentFact("CAPTURED", 4000)})
    assert "captured 4000 cents" in check_exactly_once(run, double)[0].detail
    replayed = observed([checkout(1, "o1", 2, replayed=("o1", "o9"))],
                        [s for ss in run.order_states.values() for s in ss])
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
    samples = (StatusSample(1.0, "books_database", "books-1", "leader", 4, "books-1", 10),
               StatusSample(1.0, "books_database", "books-2", "follower", 4, "books-1", 10),
               StatusSample(2.0, "books_database", "books-2", "leader", 4, "books-2", 11))
    [violation] = check_one_leader_per_term(dataclasses.replace(run, status_samples=samples), evidence)
    assert violation.subject == "books_database term 4" and "books-1, books-2" in violation.detail


def test_I6_catches_diverged_replicas_and_one_that_never_came_back() -> None:
    run, evidence = clean_run()
    replicas = (ReplicaFact("books_database", "books-1", True, 50, "aaa"),
                ReplicaFact("books_database", "books-2", True, 50, "bbb"),
                ReplicaFact("order_executor", "executor-3", False))
    violations = check_one_leader_per_term(run, dataclasses.replace(evidence, replicas=replicas))
    assert sorted(v.subject for v in violations) == ["books_database index 50", "order_executor executor-3"]


def test_I7_catches_a_stale_read() -> None:
    run, evidence = clean_run()
    # After o1 was seen COMMITTED (t=2.0) and the restock acknowledged (t=3.1), a read still shows 10.
    stale = dataclasses.replace(run, stock_reads=(*run.stock_reads, StockRead(BOOK, 4.0, 4.1, 10)))
    violations, verdict = check_stock_reads(stale, evidence.initial_stock)
    assert [v.invariant for v in violations] == ["I7"] and verdict.startswith("NOT linearizable")


def test_I7_lets_an_unanswered_order_take_effect_or_not() -> None:
    run, evidence = clean_run()
    unknown = checkout(4, None, 1, Answer.NO_ANSWER, sent=2.2, answered=3.0)
    maybe = dataclasses.replace(run, checkouts=(*run.checkouts, unknown),
                                stock_reads=(*run.stock_reads, StockRead(BOOK, 5.0, 5.1, 10)))
    assert check_stock_reads(maybe, evidence.initial_stock)[0] == []


def test_a_refusal_saying_not_placed_is_trusted_and_a_bare_500_is_not() -> None:
    import dataclasses as dc
    from chaos.invariants import maybe_placed
    refused = dc.replace(checkout(9, None, 1, Answer.REFUSED), http_status=503, error_code="DEPENDENCY_UNAVAILABLE")
    assert not maybe_placed(refused)
    assert maybe_placed(dc.replace(refused, http_status=500, error_code="INTERNAL"))
    assert maybe_placed(checkout(9, None, 1, Answer.NO_ANSWER))
    # trusted, so an order that was placed after all shows up as unaccounted stock (I1)
    run, evidence = clean_run()
    placed_anyway = dc.replace(evidence, final_stock={BOOK: BookStock(10, 0)})
    assert check_conservation(dc.replace(run, checkouts=(*run.checkouts, refused)), placed_anyway)
