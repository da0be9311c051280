"""The executor group's replicated state machine: idempotent BEGIN, first decision wins, END, snapshots.

Rules from docs/design.md §4: the decision is in the log before phase 2; a new leader finds every begun, unended tx.
"""

from __future__ import annotations

import pytest

from order_executor.core.decision_log import (
    ENDS_PER_ENTRY_MAX,
    Applied,
    DecisionLog,
    encode_begin,
    encode_decision,
    encode_end,
    encode_ends,
)
from order_executor.core.order import Item, OrderSummary, Outcome, TxRecord
from order_executor.core.pricing import Unpriceable, price_order
from utils.catalog.file import load_catalog
from utils.order.order import CreditCard, Order, OrderItem, resolve_item


def order(oid: str, qty: int = 1) -> OrderSummary:
    return OrderSummary(oid, (Item("b1", qty, 1250),), qty * 1250, "tok", "4242")


def applied(log: DecisionLog, *commands: bytes) -> list[object]:
    start = log.applied_index
    return [log.apply(start + i + 1, c) for i, c in enumerate(commands)]


def test_rule_begin_is_idempotent_by_order_id_and_keeps_the_first_summary() -> None:
    log = DecisionLog()
    first, second = applied(log, encode_begin(order("o1")), encode_begin(order("o1", qty=9)))
    assert first.changed and not second.changed  # type: ignore[attr-defined]
    assert second.record == TxRecord(order("o1"), begun_index=1)  # type: ignore[attr-defined]


def test_rule_the_first_decision_logged_is_the_decision() -> None:
    log = DecisionLog()
    results = applied(
        log,
        encode_begin(order("o1")),
        encode_decision("o1", Outcome.COMMIT, ""),
        encode_decision("o1", Outcome.ABORT, "presumed abort"),
    )
    assert results[2].changed is False  # type: ignore[attr-defined]
    record = log.record("o1")
    assert record is not None and (record.decision, record.reason) == (Outcome.COMMIT, "")


def test_rule_open_records_are_begun_and_not_ended_oldest_first() -> None:
    log = DecisionLog()
    applied(
        log,
        encode_begin(order("o2")),
        encode_begin(order("o1")),
        encode_begin(order("o3")),
        encode_decision("o1", Outcome.ABORT, "declined"),
        encode_end("o1"),
        encode_decision("o3", Outcome.COMMIT, ""),
    )
    assert [r.tx_id for r in log.open_records()] == ["o2", "o3"]
    assert log.counts() == (3, 2)


def test_rule_end_needs_a_decision() -> None:
    log = DecisionLog()
    _, end = applied(log, encode_begin(order("o1")), encode_end("o1"))
    assert end.error and not end.changed  # type: ignore[attr-defined]
    assert [r.tx_id for r in log.open_records()] == ["o1"]


def test_rule_an_abort_for_an_unknown_tx_is_recorded_so_a_later_begin_resumes_it_as_aborted() -> None:
    log = DecisionLog()
    decided, begun = applied(log, encode_decision("o1", Outcome.ABORT, "presumed"), encode_begin(order("o1")))
    assert decided.changed and not begun.changed  # type: ignore[attr-defined]
    assert begun.record.decision is Outcome.ABORT  # type: ignore[attr-defined]


def test_rule_a_commit_for_an_unknown_tx_is_refused() -> None:
    log = DecisionLog()
    (result,) = applied(log, encode_decision("o1", Outcome.COMMIT, ""))
    assert result.error and log.record("o1") is None  # type: ignore[attr-defined]


def test_malformed_entries_are_refused_the_same_way_everywhere() -> None:
    log = DecisionLog()
    results = applied(log, b"not json", b'{"op": "explode"}', b'{"op": "decide", "tx": "o1", "outcome": "MAYBE"}')
    assert all(r.error and r.record is None for r in results)  # type: ignore[attr-defined]
    assert log.applied_index == 3


def test_snapshot_restore_gives_an_equal_state() -> None:
    log = DecisionLog()
    applied(
        log,
        encode_begin(order("o1")),
        encode_begin(order("o2")),
        encode_decision("o1", Outcome.COMMIT, ""),
        encode_end("o1"),
        encode_decision("o2", Outcome.ABORT, "x"),
    )
    copy = DecisionLog()
    copy.restore(log.snapshot())
    assert copy.snapshot() == log.snapshot()
    assert copy.open_records() == log.open_records() and copy.record("o1") == log.record("o1")
    with pytest.raises(AssertionError):
        copy.apply(5, encode_end("o2"))  # the log never goes backwards


def decided(log: DecisionLog, *tx_ids: str) -> None:
    for tx_id in tx_ids:
        applied(log, encode_begin(order(tx_id)), encode_decision(tx_id, Outcome.ABORT, "x"))


def test_rule_batched_ends_close_every_decided_transaction_they_name() -> None:
    log = DecisionLog()
    decided(log, "o1", "o2", "o3")
    (result,) = applied(log, encode_ends(("o1", "o3")))
    assert isinstance(result, Applied) and result.changed and result.ended == ("o1", "o3") and not result.error
    assert [r.tx_id for r in log.open_records()] == ["o2"]
    record = log.record("o1")
    assert record is not None and record.ended and record.decision is Outcome.ABORT


def test_rule_ends_riding_on_a_begin_leave_the_begins_own_result_as_it_is() -> None:
    """run_new reads `changed` as "my BEGIN is new": ENDs it carried must not make a repeated BEGIN look new."""
    log = DecisionLog()
    decided(log, "o1", "o2")
    fresh, again = applied(log, encode_begin(order("o3"), ends=("o1",)), encode_begin(order("o2"), ends=("o3",)))
    assert isinstance(fresh, Applied) and isinstance(again, Applied)
    assert fresh.changed and fresh.ended == ("o1",) and fresh.record == log.record("o3")
    # o2's BEGIN is a repeat (o2 is decided): not changed, whatever its riders did; o3's END is refused (undecided).
    assert not again.changed and again.record is not None and again.record.decision is Outcome.ABORT
    assert again.ended == () and again.ends_refused == ("o3",) and not again.error
    assert [r.tx_id for r in log.open_records()] == ["o2", "o3"]


def test_rule_ends_riding_on_a_decision_apply_after_it() -> None:
    log = DecisionLog()
    decided(log, "o1")
    applied(log, encode_begin(order("o2")))
    (result,) = applied(log, encode_decision("o2", Outcome.COMMIT, "", ends=("o1",)))
    assert isinstance(result, Applied) and result.changed and result.record is not None
    assert result.record.decision is Outcome.COMMIT and result.ended == ("o1",)
    assert [r.tx_id for r in log.open_records()] == ["o2"]


def test_rule_a_batched_end_needs_a_decision_and_is_refused_alone() -> None:
    log = DecisionLog()
    decided(log, "o1")
    applied(log, encode_begin(order("o2")))
    (result,) = applied(log, encode_ends(("o2", "o1", "never-begun")))
    assert isinstance(result, Applied) and result.ended == ("o1",) and result.ends_refused == ("o2", "never-begun")
    assert [r.tx_id for r in log.open_records()] == ["o2"], "the BEGIN without a decision stays open: presumed abort"


def test_rule_batched_ends_are_idempotent() -> None:
    log = DecisionLog()
    decided(log, "o1")
    first, again = applied(log, encode_ends(("o1",)), encode_ends(("o1", "o1")))
    assert isinstance(first, Applied) and isinstance(again, Applied)
    assert first.ended == ("o1",) and again.ended == () and not again.changed and not again.ends_refused


def test_malformed_or_oversized_end_batches_change_nothing_not_even_the_begin() -> None:
    log = DecisionLog()
    decided(log, "o1")
    too_many = b'{"op": "ends", "ends": [%s]}' % b",".join(b'"t%d"' % i for i in range(ENDS_PER_ENTRY_MAX + 1))
    results = applied(log, b'{"op": "ends", "ends": "o1"}', b'{"op": "ends", "ends": [1]}', too_many)
    (carrier,) = applied(log, encode_begin(order("o2")).replace(b'"op"', b'"ends": [7], "op"'))
    assert all(isinstance(r, Applied) and r.error for r in [*results, carrier])
    assert log.record("o2") is None and [r.tx_id for r in log.open_records()] == ["o1"]
    with pytest.raises(ValueError):
        encode_ends(tuple(f"t{i}" for i in range(ENDS_PER_ENTRY_MAX + 1)))
    with pytest.raises(ValueError):
        encode_ends(())


def test_a_log_written_before_batching_still_applies_its_single_ends() -> None:
    log = DecisionLog()
    decided(log, "o1")
    (result,) = applied(log, encode_end("o1"))
    assert isinstance(result, Applied) and result.changed and log.open_records() == []


def test_pricing_sums_lines_per_book_at_catalog_prices_in_cents() -> None:
    catalog = load_catalog()
    book = catalog.books[0]
    items = (resolve_item(catalog, book.id, "", 2), resolve_item(catalog, "", book.title, 1))
    priced = price_order(Order("o1", items, credit_card=CreditCard(last4="1111"), payment_token="tok"))
    assert isinstance(priced, OrderSummary)
    assert priced.items == (Item(book.id, 3, int(book.price * 100)),)
    assert priced.total_cents == 3 * int(book.price * 100)


@pytest.mark.parametrize(
    "items, reason",
    [
        ([], "the order has no items"),
        ([resolve_item(load_catalog(), "nope", "", 1)], "unknown book: nope"),
        ([OrderItem(1, "nope", "", 0, asked_id="nope")], "unknown book: nope"),  # queued without a price
    ],
)
def test_pricing_refuses_what_it_cannot_price(items: list[OrderItem], reason: str) -> None:
    assert price_order(Order("o1", tuple(items))) == Unpriceable(reason)
