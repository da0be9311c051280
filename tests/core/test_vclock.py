"""VectorClock: tick, merge, compare (Mattern/Fidge), the partial order, and the proto form.

Properties are checked against a naive model: a clock as a dict, compared entry by entry.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from utils.flow.core.vclock import ENTRIES_MAX, Ordering, VectorClock
from utils.pb.common import common_pb2

SERVICES = ["fd", "s", "tv"]
clocks = st.dictionaries(st.sampled_from(SERVICES), st.integers(0, 5)).map(VectorClock.of)


def test_tick_counts_one_local_event() -> None:
    clock = VectorClock().tick("tv").tick("tv").tick("fd")
    assert clock.as_dict() == {"tv": 2, "fd": 1}
    assert clock.get("s") == 0


def test_merge_takes_the_entrywise_maximum() -> None:
    a = VectorClock.of({"tv": 3, "fd": 1})
    b = VectorClock.of({"fd": 2, "s": 1})
    assert a.merge(b).as_dict() == {"tv": 3, "fd": 2, "s": 1}


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ({"tv": 1}, {"tv": 2}, Ordering.BEFORE),
        ({"tv": 2, "fd": 1}, {"tv": 1}, Ordering.AFTER),
        ({"tv": 1, "fd": 1}, {"fd": 1, "tv": 1}, Ordering.EQUAL),
        ({"tv": 2}, {"fd": 1}, Ordering.CONCURRENT),
        ({}, {"s": 1}, Ordering.BEFORE),
    ],
)
def test_compare(a: dict[str, int], b: dict[str, int], expected: Ordering) -> None:
    assert VectorClock.of(a).compare(VectorClock.of(b)) is expected


def test_partial_order_operators() -> None:
    before, after, other = VectorClock.of({"tv": 1}), VectorClock.of({"tv": 2, "fd": 1}), VectorClock.of({"s": 1})
    assert before <= after and before < after and after >= before and after > before
    assert not (before <= other) and not (other <= before)  # concurrent: neither is <=
    assert before <= before and not (before < before)


def test_zero_entries_are_dropped_so_equal_histories_are_equal() -> None:
    assert VectorClock.of({"tv": 1, "fd": 0}) == VectorClock.of({"tv": 1})
    assert hash(VectorClock.of({"tv": 1, "fd": 0})) == hash(VectorClock.of({"tv": 1}))


def test_proto_round_trip() -> None:
    clock = VectorClock.of({"transaction_verification": 4, "fraud_detection": 3, "suggestions": 2})
    message = clock.to_proto()
    assert dict(message.counters) == clock.as_dict()
    assert VectorClock.from_proto(common_pb2.VectorClock.FromString(message.SerializeToString())) == clock


def test_a_peers_malformed_clock_is_refused() -> None:
    with pytest.raises(ValueError):
        VectorClock.from_proto(common_pb2.VectorClock(counters={"tv": -1}))
    with pytest.raises(ValueError):
        VectorClock.from_proto(common_pb2.VectorClock(counters={f"s{i}": 1 for i in range(ENTRIES_MAX + 1)}))
    with pytest.raises(ValueError):
        VectorClock((("tv", 1), ("fd", 1)))  # unsorted: build with VectorClock.of


def _naive_compare(a: dict[str, int], b: dict[str, int]) -> Ordering:
    le = all(a.get(k, 0) <= b.get(k, 0) for k in SERVICES)
    ge = all(a.get(k, 0) >= b.get(k, 0) for k in SERVICES)
    return {
        (True, True): Ordering.EQUAL,
        (True, False): Ordering.BEFORE,
        (False, True): Ordering.AFTER,
        (False, False): Ordering.CONCURRENT,
    }[(le, ge)]


@given(clocks, clocks)
def test_compare_matches_the_naive_model(a: VectorClock, b: VectorClock) -> None:
    assert a.compare(b) is _naive_compare(a.as_dict(), b.as_dict())
    assert b.compare(a) is {Ordering.BEFORE: Ordering.AFTER, Ordering.AFTER: Ordering.BEFORE}.get(
        a.compare(b), a.compare(b)
    )


@given(clocks, clocks, clocks)
def test_merge_is_a_join(a: VectorClock, b: VectorClock, c: VectorClock) -> None:
    assert a.merge(b) == b.merge(a)
    assert a.merge(b).merge(c) == a.merge(b.merge(c))
    assert a.merge(a) == a
    assert a <= a.merge(b) and b <= a.merge(b)


@given(clocks, st.sampled_from(SERVICES))
def test_a_tick_is_strictly_after(a: VectorClock, service: str) -> None:
    assert a < a.tick(service)
    assert a.tick(service).get(service) == a.get(service) + 1
