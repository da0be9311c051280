"""DueBatch, the bounded batch behind the clear broadcast and the ENDs: compared with a naive model on any sequence of
adds, takes and clock steps — never more than a batch's cap, oldest first, nothing lost but what the backlog refused,
and due exactly when full or once the oldest has waited its bound."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utils.batching.core.due_batch import DueBatch, DueBatchLimits

OP = st.one_of(
    st.tuples(st.just("add"), st.floats(0.0, 0.3)),  # an add after this many seconds
    st.tuples(st.just("take"), st.floats(0.0, 0.3)),  # a take (only if due) after this many seconds
    st.tuples(st.just("take_any"), st.just(0.0)),
    st.tuples(st.just("clear"), st.just(0.0)),
)
LIMITS = st.builds(
    lambda cap, wait_s, extra: DueBatchLimits(items_per_batch_max=cap, wait_max_s=wait_s, backlog_max=cap + extra),
    st.integers(1, 6),
    st.sampled_from([0.0, 0.1, 0.5]),
    st.integers(0, 6),
)


@settings(max_examples=300, deadline=None, database=None)
@given(LIMITS, st.lists(OP, max_size=60))
def test_a_due_batch_behaves_as_the_naive_model(limits: DueBatchLimits, ops: list[tuple[str, float]]) -> None:
    batch: DueBatch[int] = DueBatch(limits)
    model: list[tuple[float, int]] = []  # (when added, item), oldest first
    cap, now, next_item = limits.items_per_batch_max, 0.0, 0
    added: list[int] = []
    gone: list[int] = []  # taken or cleared, in the order they left
    for op, step_s in ops:
        now += step_s
        if op == "add":
            fits = len(model) < limits.backlog_max
            assert batch.add(next_item, now) is fits, "refused exactly when the backlog is full"
            if fits:
                model.append((now, next_item))
                added.append(next_item)
            next_item += 1
        elif op == "take":
            due = bool(model) and (len(model) >= cap or model[0][0] + limits.wait_max_s <= now)
            taken = batch.take(now)
            assert taken == (tuple(item for _, item in model[:cap]) if due else ()), "due when full or waited"
            del model[: len(taken)]
            gone.extend(taken)
        elif op == "take_any":
            taken = batch.take_any()
            assert taken == tuple(item for _, item in model[:cap])
            del model[: len(taken)]
            gone.extend(taken)
        else:
            assert batch.clear() == len(model)
            gone.extend(item for _, item in model)
            model.clear()
        assert len(batch) == len(model) <= limits.backlog_max
        if not model:
            assert batch.due_in_s(now) is None
        elif len(model) >= cap:
            assert batch.due_in_s(now) == 0.0, "a full batch is due at once"
        else:
            assert batch.due_in_s(now) == pytest.approx(max(0.0, model[0][0] + limits.wait_max_s - now))
    assert gone + [item for _, item in model] == added, "oldest first; nothing lost, nothing twice"


def test_a_take_never_carries_more_than_one_batch() -> None:
    batch: DueBatch[str] = DueBatch(DueBatchLimits(items_per_batch_max=2, wait_max_s=1.0, backlog_max=5))
    for item in "abcde":
        assert batch.add(item, 0.0)
    assert [batch.take(0.0), batch.take(0.0), batch.take(0.5), batch.take(1.0)] == [("a", "b"), ("c", "d"), (), ("e",)]


@pytest.mark.parametrize(
    ("items_per_batch_max", "wait_max_s", "backlog_max"),
    [(0, 1.0, 4), (2, -0.1, 4), (4, 1.0, 3)],
)
def test_limits_out_of_range_are_refused(items_per_batch_max: int, wait_max_s: float, backlog_max: int) -> None:
    with pytest.raises(ValueError):
        DueBatchLimits(items_per_batch_max=items_per_batch_max, wait_max_s=wait_max_s, backlog_max=backlog_max)
