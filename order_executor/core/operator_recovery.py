"""What the operator's recovery does after the executor group lost its data (docs/operations.md): from the
participants' own records, the decision of every in-doubt transaction, and where to apply it.

Pure. The rule: committed at one participant → committed at all (someone was told COMMIT, so the decision was
COMMIT); otherwise aborted (nobody was told COMMIT, so presumed abort is safe).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum


class TxState(Enum):
    NONE = "NONE"  # no record at that participant
    PREPARED = "PREPARED"
    COMMITTED = "COMMITTED"
    ABORTED = "ABORTED"


@dataclass(frozen=True, slots=True)
class Resolution:
    tx_id: str
    commit: bool
    apply_at: tuple[str, ...]  # participants to tell (sorted): those not yet in the decided state
    problem: str = ""  # the records contradict each other: reported, and this transaction is left alone


def plan_resolutions(states: Mapping[str, Mapping[str, TxState]]) -> list[Resolution]:
    """`states`: tx id → participant → its state there. Only transactions PREPARED somewhere are in doubt; the
    result is sorted by tx id."""
    plans: list[Resolution] = []
    for tx_id in sorted(states):
        at = states[tx_id]
        if TxState.PREPARED not in at.values():
            continue
        committed = sorted(p for p, s in at.items() if s is TxState.COMMITTED)
        aborted = sorted(p for p, s in at.items() if s is TxState.ABORTED)
        if committed and aborted:
            problem = f"committed at {', '.join(committed)} but aborted at {', '.join(aborted)}"
            plans.append(Resolution(tx_id, True, (), problem))
            continue
        commit = bool(committed)
        if commit:
            never = sorted(p for p, s in at.items() if s is TxState.NONE)
            if never:
                # All voted COMMIT before anyone committed, so a participant with no record lost its data.
                problem = f"committed at {', '.join(committed)} but unknown at {', '.join(never)}"
                plans.append(Resolution(tx_id, True, (), problem))
                continue
            targets = sorted(p for p, s in at.items() if s is TxState.PREPARED)
        else:
            # An Abort where there is no record leaves a tombstone, so a late Prepare votes ABORT there too.
            targets = sorted(p for p, s in at.items() if s in (TxState.PREPARED, TxState.NONE))
        plans.append(Resolution(tx_id, commit, tuple(targets)))
    return plans
