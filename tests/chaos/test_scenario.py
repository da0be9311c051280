"""The fault schedule is a pure function of the options and the seed, never overlaps, and ends healed."""

from __future__ import annotations

import itertools
import random

import pytest

from chaos.scenario import FaultEvent, FaultKind, Options, Role, Target, build_schedule, parse_faults, parse_schedule

ALL_KINDS = tuple(FaultKind)


def schedule(seed: int, **changes: object) -> list[FaultEvent]:
    options = Options(**{"duration_s": 300.0, "faults": ALL_KINDS, "seed": seed, **changes})  # type: ignore[arg-type]
    return build_schedule(options, random.Random(seed))


def test_same_seed_same_schedule() -> None:
    assert schedule(7) == schedule(7)
    assert len(schedule(7)) > 5


def test_other_seed_other_schedule() -> None:
    assert schedule(7) != schedule(8)


def test_order_of_fault_names_does_not_change_the_schedule() -> None:
    kinds = (FaultKind.PAUSE, FaultKind.KILL)
    first = build_schedule(Options(duration_s=120, faults=kinds), random.Random(3))
    second = build_schedule(Options(duration_s=120, faults=kinds[::-1]), random.Random(3))
    assert first == second


def test_faults_are_one_at_a_time_and_healed_before_the_cooldown() -> None:
    options = Options(duration_s=200.0, faults=ALL_KINDS, warmup_s=5, cooldown_s=8)
    events = build_schedule(options, random.Random(11))
    assert events[0].at_s >= 5
    assert all(a.heal_at_s <= b.at_s for a, b in itertools.pairwise(events))
    assert events[-1].heal_at_s <= 200 - 8
    assert {e.kind for e in events} <= set(ALL_KINDS)


def test_no_faults_no_schedule() -> None:
    assert build_schedule(Options(faults=()), random.Random(1)) == []


def test_parse_faults() -> None:
    assert parse_faults("kill, pause,kill") == (FaultKind.KILL, FaultKind.PAUSE)
    assert parse_faults("none") == ()
    with pytest.raises(ValueError, match="unknown fault explode"):
        parse_faults("kill,explode")


def test_explicit_schedule_is_parsed_sorted_and_checked() -> None:
    events = parse_schedule("20:pause:order_executor:leader:3, 5:kill:books_database:follower:4")
    assert [(e.at_s, e.kind, e.target, e.hold_s) for e in events] == [
        (5.0, FaultKind.KILL, Target("books_database", Role.FOLLOWER), 4.0),
        (20.0, FaultKind.PAUSE, Target("order_executor", Role.LEADER), 3.0),
    ]
    assert parse_schedule("1:slow:payment_service:2")[0].target == Target("payment_service", Role.SINGLE)
    with pytest.raises(ValueError, match="overlap"):
        parse_schedule("5:kill:books_database:leader:10,8:pause:order_executor:leader:2")
    with pytest.raises(ValueError, match="can hit"):
        parse_schedule("5:pause:payment_service:2")
    with pytest.raises(ValueError, match="expected"):
        parse_schedule("5:kill")


def test_explicit_schedule_wins_over_the_seed() -> None:
    events = tuple(parse_schedule("5:kill:books_database:follower:4"))
    assert build_schedule(Options(schedule=events, faults=ALL_KINDS), random.Random(1)) == list(events)


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError):
        Options(duration_s=0)
    with pytest.raises(ValueError):
        Options(last_copies=5, last_copies_buyers=5)
