"""GET /cluster's merged election history: one line per term, the winner's own record (with why it campaigned)
preferred over others' sightings, else the earliest sighting; `seenBy` counts the replicas that saw the term."""

from __future__ import annotations

from typing import Any

from orchestrator.cluster_view import ELECTIONS_SHOWN_MAX, ReplicaView, merged_elections


def _election(term: int, winner: str, at: float, why: str | None = None) -> dict[str, Any]:
    return {"term": term, "winner": winner, "at": at, "why": why}


def _replica(node: str, *elections: dict[str, Any]) -> ReplicaView:
    return ReplicaView(node, "127.0.0.1:1", "follower", elections=elections)


def test_the_winners_record_wins_and_sightings_are_counted() -> None:
    merged = merged_elections(
        [
            _replica("a", _election(1, "a", 10.0, "pre-vote"), _election(2, "b", 20.4)),
            _replica("b", _election(1, "a", 10.1), _election(2, "b", 20.5, "transfer")),
            _replica("c", _election(2, "b", 20.2)),
        ]
    )
    assert merged == [
        {**_election(1, "a", 10.0, "pre-vote"), "seenBy": 2},
        {**_election(2, "b", 20.5, "transfer"), "seenBy": 3},
    ]


def test_without_the_winner_the_earliest_sighting_stands_and_the_history_is_bounded() -> None:
    merged = merged_elections([_replica("b", _election(3, "a", 31.0)), _replica("c", _election(3, "a", 30.0))])
    assert merged == [{**_election(3, "a", 30.0), "seenBy": 2}]
    many = [_election(t, "a", float(t)) for t in range(1, ELECTIONS_SHOWN_MAX + 5)]
    assert [m["term"] for m in merged_elections([_replica("b", *many)])][0] == 5
