"""Failovers read off the replica status samples: when a group's leader stopped being seen as leader,
and when a new leader (another replica, or the same one in a later term) was first seen.

Pure: samples in, intervals out; the resolution is the sampling period.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from testing.evidence import StatusSample


@dataclass(frozen=True, slots=True)
class Failover:
    group: str
    old_leader: str
    new_leader: str
    gone_at_s: float  # first sample round without the old leader as leader
    elected_at_s: float  # first round showing the new leader
    term: int  # the new leader's term

    @property
    def duration_s(self) -> float:
        return self.elected_at_s - self.gone_at_s


def leader_of(round_samples: list[StatusSample]) -> tuple[str, int] | None:
    """The leader as the replicas see it: the one claiming leadership in the highest term (a deposed one lags)."""
    claims = [(s.term, s.node_id) for s in round_samples if s.role == "leader"]
    if not claims:
        return None
    term, node_id = max(claims)
    return node_id, term


def failovers(samples: list[StatusSample] | tuple[StatusSample, ...]) -> list[Failover]:
    rounds: dict[str, dict[float, list[StatusSample]]] = defaultdict(lambda: defaultdict(list))
    for sample in samples:
        rounds[sample.group][sample.at_s].append(sample)
    found: list[Failover] = []
    for group in sorted(rounds):
        current: tuple[str, int] | None = None
        gone_at_s: float | None = None
        for at_s in sorted(rounds[group]):
            leader = leader_of(rounds[group][at_s])
            if current is None:
                current = leader  # the first leader seen: nothing failed over yet
                continue
            if leader == current:
                gone_at_s = None
                continue
            if leader is None:
                if gone_at_s is None:
                    gone_at_s = at_s
                continue
            found.append(
                Failover(group, current[0], leader[0], gone_at_s if gone_at_s is not None else at_s, at_s, leader[1])
            )
            current, gone_at_s = leader, None
    return sorted(found, key=lambda f: (f.gone_at_s, f.group))
