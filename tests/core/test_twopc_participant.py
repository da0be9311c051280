"""The shared 2PC participant form (utils/twopc/core/participant.py): table checks and the term fence.

Each test names the rule it checks (docs/design.md §4: one id, idempotent steps; fencing by term).
"""

from __future__ import annotations

from enum import Enum

import pytest

from utils.twopc.core.participant import Fence, ParticipantTable, Rule, TableError, table_problems


class St(Enum):
    NONE = "NONE"
    DONE = "DONE"


class Msg(Enum):
    DO = "DO"


class Eff(Enum):
    APPLY = "APPLY"
    NOTHING = "NOTHING"


GOOD = {(St.NONE, Msg.DO): Rule(Eff.APPLY, St.DONE), (St.DONE, Msg.DO): Rule(Eff.NOTHING, St.DONE)}
NO_OPS = frozenset({Eff.NOTHING})


def build(rules: dict[tuple[St, Msg], Rule[Eff, St]]) -> ParticipantTable[St, Msg, Rule[Eff, St]]:
    return ParticipantTable(rules, tuple(St), tuple(Msg), never_seen=St.NONE, no_ops=NO_OPS)


def test_a_total_table_with_harmless_repeats_passes() -> None:
    assert build(GOOD).rule(St.NONE, Msg.DO) == Rule(Eff.APPLY, St.DONE)


def test_rule_totality_a_missing_pair_fails() -> None:
    with pytest.raises(TableError, match=r"no rule for \(St.DONE, Msg.DO\)"):
        build({(St.NONE, Msg.DO): GOOD[(St.NONE, Msg.DO)]})


def test_rule_a_no_op_that_moves_the_state_fails() -> None:
    with pytest.raises(TableError, match="changes nothing, yet moves"):
        build({**GOOD, (St.DONE, Msg.DO): Rule(Eff.NOTHING, St.NONE)})


def test_rule_idempotency_a_repeated_message_that_applies_again_fails() -> None:
    # A repeated Commit that decrements twice: the step into DONE, repeated in DONE, must change nothing.
    with pytest.raises(TableError, match="applies Eff.APPLY again"):
        build({**GOOD, (St.DONE, Msg.DO): Rule(Eff.APPLY, St.DONE)})


def test_the_never_seen_state_must_be_a_state() -> None:
    assert table_problems(GOOD, [St.DONE], tuple(Msg), St.NONE, NO_OPS)[0].startswith("the never-seen state")


def test_check_applied_holds_a_step_to_its_row() -> None:
    table = build(GOOD)
    table.check_applied(GOOD[(St.NONE, Msg.DO)], St.NONE, St.DONE)
    table.check_applied(GOOD[(St.DONE, Msg.DO)], St.DONE, None)
    with pytest.raises(AssertionError):
        table.check_applied(GOOD[(St.NONE, Msg.DO)], St.NONE, None)  # an effect that wrote nothing
    with pytest.raises(AssertionError):
        table.check_applied(GOOD[(St.DONE, Msg.DO)], St.DONE, St.DONE)  # a no-op that wrote a record


def test_rule_fencing_refuses_an_older_term_and_keeps_the_newest() -> None:
    fence = Fence(5)
    assert (fence.admits(4), fence.admits(5), fence.admits(9)) == (False, True, True)
    assert fence.seen(9) == Fence(9) and fence.seen(5) == fence
    assert fence.refusal(4) == "coordinator term 4 is older than 5"
    with pytest.raises(AssertionError):
        fence.seen(4)
