"""Property tests of the core's building blocks against naive models (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from utils.raft.core import Entry, EntryKind
from utils.raft.core.log import RaftLog
from utils.raft.core.progress import Progress, ProgressState
from utils.raft.core.quorum import VoteResult, committed_index, quorum_size, vote_result


@given(st.lists(st.integers(0, 50), min_size=1, max_size=9))
def test_committed_index_is_the_largest_index_a_majority_holds(matches: list[int]) -> None:
    quorum = len(matches) // 2 + 1
    naive = max(i for i in range(0, 51) if sum(m >= i for m in matches) >= quorum)
    assert committed_index(matches, len(matches)) == naive


@given(
    st.integers(1, 9).flatmap(
        lambda n: st.tuples(st.just(n), st.dictionaries(st.sampled_from([f"n{i}" for i in range(n)]), st.booleans()))
    )
)
def test_vote_result_matches_counting(case: tuple[int, dict[str, bool]]) -> None:
    voters, votes = case
    granted = sum(votes.values())
    missing = voters - len(votes)
    if granted >= quorum_size(voters):
        expected = VoteResult.WON
    elif granted + missing < quorum_size(voters):
        expected = VoteResult.LOST
    else:
        expected = VoteResult.PENDING
    assert vote_result(votes, voters) == expected


def _log_of(terms: list[int]) -> RaftLog:
    return RaftLog(None, [Entry(t, i + 1, EntryKind.NORMAL, b"") for i, t in enumerate(terms)], 0)


@given(st.lists(st.integers(1, 6), max_size=30).map(sorted), st.integers(0, 35), st.integers(0, 7))
def test_find_conflict_by_term_is_the_last_index_with_a_term_at_most(terms: list[int], index: int, term: int) -> None:
    log = _log_of(terms)
    found_index, found_term = log.find_conflict_by_term(index, term)
    candidates = [i for i in range(min(index, len(terms)), 0, -1) if terms[i - 1] <= term]
    if candidates:
        assert (found_index, found_term) == (candidates[0], terms[candidates[0] - 1])
    else:
        assert (found_index, found_term) == (0, 0)


_append = st.tuples(st.integers(0, 12), st.lists(st.integers(0, 2), max_size=5), st.integers(0, 15))


@settings(max_examples=150, deadline=None)
@given(st.lists(_append, max_size=25))
def test_maybe_append_matches_a_naive_list_log(operations: list[tuple[int, list[int], int]]) -> None:
    """Raft §5.3 receiver rules, on a plain list of terms: match, truncate a conflict, commit."""
    naive: list[int] = []
    naive_commit = 0
    log = RaftLog()
    for prev_index, term_steps, leader_commit in operations:
        if prev_index > len(naive):
            prev_term = 1
        else:
            prev_term = naive[prev_index - 1] if prev_index else 0
        terms, term = [], max(prev_term, 1)
        for step in term_steps:
            term += step
            terms.append(term)
        entries = [Entry(t, prev_index + 1 + i, EntryKind.NORMAL, b"") for i, t in enumerate(terms)]
        # Naive receiver; a conflict inside the committed prefix cannot come from a real leader.
        if prev_index > len(naive) or (prev_index and naive[prev_index - 1] != prev_term):
            assert log.maybe_append(prev_index, prev_term, leader_commit, entries) is None
            continue
        updated = list(naive)
        for entry in entries:
            if entry.index <= len(updated) and updated[entry.index - 1] != entry.term:
                del updated[entry.index - 1 :]
            if entry.index > len(updated):
                updated.append(entry.term)
        if updated[:naive_commit] != naive[:naive_commit]:
            continue
        naive = updated
        naive_commit = max(naive_commit, min(leader_commit, prev_index + len(entries)))
        assert log.maybe_append(prev_index, prev_term, leader_commit, entries) == prev_index + len(entries)
        assert [log.term(i) for i in range(1, log.last_index + 1)] == naive
        assert log.committed == naive_commit


@given(
    st.lists(
        st.one_of(st.tuples(st.just("send"), st.integers(1, 5)), st.tuples(st.just("ack"), st.integers(0, 60))),
        max_size=40,
    )
)
def test_replicate_window_tracks_unacknowledged_appends(events: list[tuple[str, int]]) -> None:
    """etcd Progress in replicate: the window holds the APPENDs not yet acknowledged, capped."""
    pr = Progress(next_index=1, inflight_max=4)
    pr.become_replicate()
    outstanding: list[int] = []
    for kind, value in events:
        if kind == "send":
            if pr.is_paused():
                assert len(outstanding) == 4
                continue
            last = pr.next + value - 1
            pr.sent_entries(last)
            outstanding.append(last)
        else:
            ack = min(value, pr.next - 1)
            pr.maybe_update(ack)
            pr.free_inflights_to(ack)
            outstanding = [i for i in outstanding if i > ack]
        assert list(pr.inflights) == outstanding
        assert pr.state is ProgressState.REPLICATE and pr.match < pr.next
