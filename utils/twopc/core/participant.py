"""The shared shape of a 2PC participant: a total table (state, message) → rule per transaction, and a term fence.

Pure: a participant names its states, message kinds and effects; this module checks its table and steps it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Generic, Protocol, TypeVar

S = TypeVar("S", bound=Enum)  # a participant's per-transaction state; one member means "never seen"
K = TypeVar("K", bound=Enum)  # the kinds of message it classifies its input into
E = TypeVar("E", bound=Enum)  # its effects
S_co = TypeVar("S_co", bound=Enum, covariant=True)
E_co = TypeVar("E_co", bound=Enum, covariant=True)


class RuleShape(Protocol[E_co, S_co]):
    """What the shared checks need of a row; a participant's row may carry more (a reply, a log event)."""

    @property
    def effect(self) -> E_co: ...

    @property
    def next_state(self) -> S_co: ...


R = TypeVar("R", bound=RuleShape[Enum, Enum])


@dataclass(frozen=True, slots=True)
class Rule(Generic[E, S]):
    effect: E
    next_state: S


class TableError(ValueError):
    """A participant's table is not total, or breaks the shared rules: a bug, raised when the module loads."""


def table_problems(
    rules: Mapping[tuple[S, K], RuleShape[Enum, Enum]],
    states: Iterable[S],
    kinds: Iterable[K],
    never_seen: S,
    no_ops: Iterable[Enum],
) -> list[str]:
    """Everything wrong with a table; empty when it is total and every repeat is harmless."""
    state_set, kind_set, no_op_set = frozenset(states), frozenset(kinds), frozenset(no_ops)
    problems: list[str] = []
    if never_seen not in state_set:
        problems.append(f"the never-seen state {never_seen} is not one of the states")
    pairs = {(s, k) for s in state_set for k in kind_set}
    problems += [f"no rule for ({s}, {k})" for s, k in sorted(pairs - set(rules), key=str)]
    problems += [
        f"a rule for ({s}, {k}), which is not a (state, message) pair" for s, k in sorted(set(rules) - pairs, key=str)
    ]
    for (state, kind), rule in rules.items():
        if rule.effect in no_op_set and rule.next_state is not state:
            problems.append(f"({state}, {kind}): {rule.effect} changes nothing, yet moves to {rule.next_state}")
        # docs/design.md §4 "one id, idempotent steps": the message that moved a transaction, sent again, is a no-op.
        repeat = next((r for (s, k), r in rules.items() if s is rule.next_state and k is kind), None)
        if rule.effect not in no_op_set and repeat is not None and repeat.effect not in no_op_set:
            problems.append(
                f"({state}, {kind}) moves to {rule.next_state}, where a repeated {kind} applies {repeat.effect} again"
            )
    return problems


@dataclass(frozen=True, slots=True)
class ParticipantTable(Generic[S, K, R]):
    """A participant's rules, checked total when built: anything missing would be an illegal step."""

    rules: Mapping[tuple[S, K], R]
    states: tuple[S, ...]
    kinds: tuple[K, ...]
    never_seen: S  # the state of a transaction id with no record
    no_ops: frozenset[Enum]  # effects that change nothing (a duplicate, a refusal)

    def __post_init__(self) -> None:
        problems = table_problems(self.rules, self.states, self.kinds, self.never_seen, self.no_ops)
        if problems:
            raise TableError("; ".join(problems))

    def rule(self, state: S, kind: K) -> R:
        return self.rules[(state, kind)]

    def is_no_op(self, rule: R) -> bool:
        return rule.effect in self.no_ops

    def check_applied(self, rule: R, before: S, written: S | None) -> None:
        """After `rule`'s effect, given the state of the record it wrote (None: it wrote none): only a row with an
        effect writes, and the transaction is then in the rule's next state."""
        assert (written is None) is self.is_no_op(rule), f"{rule.effect} wrote a record in {written}"
        after = before if written is None else written
        assert after is rule.next_state, f"{rule.effect} left the transaction {after}, the table says {rule.next_state}"


# The command an operator runs once the executor group lost its data (docs/operations.md); refusals name it.
OPERATOR_COMMAND = "python -m order_executor.recover"
INCARNATION_CHANGED = "the executor group's incarnation changed"  # every such refusal starts with this


class Admission(Enum):
    ADMIT = "ADMIT"
    STALE_TERM = "STALE_TERM"  # an older coordinator term of the incarnation this participant follows
    INCARNATION_CHANGED = "INCARNATION_CHANGED"  # another executor group (it lost its data, or never was ours)


@dataclass(frozen=True, slots=True)
class Fence:
    """docs/design.md §4 fencing, and docs/operations.md: the executor group's incarnation this participant follows
    and the newest coordinator term seen within it.

    The first incarnation seen is adopted (a fresh fleet, or data from before incarnations); after that a call
    from any other incarnation, or with none, is refused until an operator adopts the new one. Terms only compare
    within one incarnation: a new group's Raft terms start again at 1.
    """

    newest: int = 0
    incarnation: str = ""  # "" until the first incarnation is seen

    def admission(self, term: int, incarnation: str = "") -> Admission:
        if self.incarnation and incarnation != self.incarnation:
            return Admission.INCARNATION_CHANGED
        if term < self.newest:
            return Admission.STALE_TERM
        return Admission.ADMIT

    def admits(self, term: int, incarnation: str = "") -> bool:
        return self.admission(term, incarnation) is Admission.ADMIT

    def seen(self, term: int, incarnation: str = "") -> Fence:
        """The fence after admitting the call (a refused call does not change it); the first incarnation sticks."""
        assert self.admits(term, incarnation), self.refusal(term, incarnation)
        return Fence(term, self.incarnation or incarnation)

    def adopt(self, incarnation: str, term: int = 0) -> Fence:
        """An operator's decision (docs/operations.md): follow `incarnation` from `term` on; the old terms are gone."""
        if not incarnation:
            raise ValueError("an incarnation to adopt must not be empty")
        return Fence(term, incarnation)

    def refusal(self, term: int, incarnation: str = "") -> str:
        admission = self.admission(term, incarnation)
        if admission is Admission.INCARNATION_CHANGED:
            sent = f"incarnation {incarnation}" if incarnation else "no incarnation"
            return (
                f"{INCARNATION_CHANGED}: this participant follows {self.incarnation}, the call carries {sent}; "
                f"if the executor group lost its data, resolve and adopt it with `{OPERATOR_COMMAND}`"
            )
        return f"coordinator term {term} is older than {self.newest}"
