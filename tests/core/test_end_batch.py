"""The batch of ENDs a leader has yet to log: bounded, oldest first, due by count or by the oldest one's wait.

Pure: the clock's reading is an argument.
"""

from __future__ import annotations

import pytest

from order_executor.core.end_batch import EndBatch, EndBatchLimits

LIMITS = EndBatchLimits(per_entry_max=3, wait_max_s=0.5, pending_max=5)


def test_an_empty_batch_is_never_due() -> None:
    batch = EndBatch(LIMITS)
    assert batch.due_in_s(100.0) is None and batch.take_any() == ()


def test_the_oldest_end_sets_when_the_batch_is_due() -> None:
    batch = EndBatch(LIMITS)
    batch.add("a", 10.0)
    batch.add("b", 10.3)
    assert batch.due_in_s(10.1) == pytest.approx(0.4)
    assert batch.due_in_s(10.6) == 0.0, "due once the oldest END has waited its bound, whoever came after it"


def test_a_full_entry_is_due_at_once() -> None:
    batch = EndBatch(LIMITS)
    for tx in ("a", "b", "c"):
        batch.add(tx, 10.0)
    assert batch.due_in_s(10.0) == 0.0


def test_take_gives_the_oldest_one_entrys_worth_and_keeps_the_rest() -> None:
    batch = EndBatch(LIMITS)
    for at, tx in enumerate(("a", "b", "c", "d")):
        batch.add(tx, float(at))
    assert batch.take_any() == ("a", "b", "c")
    assert len(batch) == 1 and batch.due_in_s(3.0) == pytest.approx(0.5), "d's own wait starts at its own add"
    assert batch.take_any() == ("d",) and len(batch) == 0


def test_the_batch_is_bounded_and_counts_what_it_drops() -> None:
    batch = EndBatch(LIMITS)
    assert all(batch.add(f"t{i}", 0.0) for i in range(5))
    assert not batch.add("t5", 0.0) and batch.dropped == 1 and len(batch) == 5


def test_an_end_held_twice_is_held_once() -> None:
    batch = EndBatch(LIMITS)
    assert batch.add("a", 0.0) and not batch.add("a", 1.0)
    assert batch.take_any() == ("a",) and batch.dropped == 0


def test_clear_drops_everything_for_a_lost_leadership() -> None:
    batch = EndBatch(LIMITS)
    batch.add("a", 0.0)
    batch.add("b", 0.0)
    assert batch.clear() == 2 and batch.take_any() == () and batch.due_in_s(9.0) is None


@pytest.mark.parametrize(
    "limits",
    [
        {"per_entry_max": 0},
        {"per_entry_max": 65},
        {"wait_max_s": -1.0},
        {"per_entry_max": 8, "pending_max": 4},
    ],
)
def test_limits_out_of_range_are_refused(limits: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        EndBatchLimits(**limits)  # type: ignore[arg-type]


def test_an_end_taken_or_cleared_can_be_held_again() -> None:
    batch = EndBatch(LIMITS)
    batch.add("a", 0.0)
    assert batch.take_any() == ("a",) and batch.add("a", 1.0), "a resent decision's END, after the first one left"
    assert batch.clear() == 1 and batch.add("a", 2.0) and len(batch) == 1
