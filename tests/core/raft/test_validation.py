"""Peer input validation (docs/design.md §10 rule 4): stale and malformed messages are dropped and counted."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from testing.raft_sim_cluster import Cluster
from utils.raft.core import Entry, EntryKind, Message, MessageType, Role, Snapshot


def _settled() -> Cluster:
    cluster = Cluster(["a", "b", "c"], seed=61)
    cluster.elect("a")
    cluster.run(1)
    return cluster


def _append(term: int, **fields: Any) -> Message:
    return Message(MessageType.APPEND, "a", "b", term, **fields)


MALFORMED = [
    pytest.param(lambda t: "not a message", id="not-a-message"),
    pytest.param(lambda t: Message(MessageType.APPEND, "a", "c", t), id="wrong-recipient"),
    pytest.param(lambda t: Message(MessageType.APPEND, "zz", "b", t), id="unknown-sender"),
    pytest.param(lambda t: Message(MessageType.APPEND, "b", "b", t), id="from-self"),
    pytest.param(lambda t: _append(-1), id="negative-term"),
    pytest.param(lambda t: _append(0), id="term-zero"),
    pytest.param(lambda t: _append(t, index=-3), id="negative-index"),
    pytest.param(lambda t: _append(t, log_term=t + 1, index=1), id="prev-term-from-future"),
    pytest.param(
        lambda t: _append(t, index=1, log_term=t, entries=(Entry(t, 3, EntryKind.NORMAL, b"put x y"),)),
        id="entries-not-contiguous",
    ),
    pytest.param(
        lambda t: _append(t, index=1, log_term=t, entries=(Entry(t + 1, 2, EntryKind.NORMAL, b"put x y"),)),
        id="entry-term-from-future",
    ),
    pytest.param(lambda t: _append(t, index=1, log_term=t, entries=("junk",)), id="entry-not-entry"),
    pytest.param(
        lambda t: _append(t, index=1, log_term=t, entries=(Entry(t, 2, EntryKind.NORMAL, "str"),)),  # type: ignore[arg-type]
        id="entry-data-str",
    ),
    pytest.param(lambda t: Message(MessageType.SNAPSHOT, "a", "b", t), id="snapshot-missing"),
    pytest.param(
        lambda t: Message(MessageType.SNAPSHOT, "a", "b", t, snapshot=Snapshot(5, t + 1, b"")),
        id="snapshot-term-from-future",
    ),
    pytest.param(
        lambda t: Message(MessageType.VOTE, "c", "b", t, entries=(Entry(t, 1, EntryKind.NOOP, b""),)),
        id="entries-on-vote",
    ),
    pytest.param(
        lambda t: dataclasses.replace(_append(t), context="str"),  # type: ignore[arg-type]
        id="context-not-bytes",
    ),
]


@pytest.mark.parametrize("make", MALFORMED)
def test_malformed_messages_are_dropped_counted_and_change_nothing(make: Any) -> None:
    cluster = _settled()
    b = cluster.nodes["b"].raw
    before = b.status()
    b.step(make(b.term))
    after = b.status()
    assert after.dropped_messages == before.dropped_messages + 1
    assert dataclasses.replace(after, dropped_messages=before.dropped_messages) == before
    assert not b.has_ready()


def test_a_stale_term_append_is_answered_with_our_term_so_the_old_leader_steps_down() -> None:
    """Raft §5.1 (+ etcd's rule under PreVote/CheckQuorum): tell a stale leader the newer term."""
    cluster = _settled()
    b = cluster.nodes["b"].raw
    term = b.term
    assert term >= 2
    b.step(Message(MessageType.APPEND, "c", "b", term - 1))
    ready = b.ready()
    assert [(m.type, m.recipient, m.term) for m in ready.messages] == [(MessageType.APPEND_RESPONSE, "c", term)]
    b.advance(ready)
    assert b.term == term and b.leader == "a"


def test_a_stale_vote_response_is_dropped_and_counted() -> None:
    cluster = _settled()
    a = cluster.nodes["a"].raw
    dropped = a.dropped_messages
    a.step(Message(MessageType.VOTE_RESPONSE, "b", "a", a.term - 1))
    assert a.dropped_messages == dropped + 1 and a.role is Role.LEADER


def test_an_acknowledgement_beyond_the_leaders_log_is_dropped() -> None:
    cluster = _settled()
    a = cluster.nodes["a"].raw
    dropped = a.dropped_messages
    a.step(Message(MessageType.APPEND_RESPONSE, "b", "a", a.term, index=10_000))
    assert a.dropped_messages == dropped + 1
    assert a.status().match_index["b"] <= a.status().last_index


def test_ready_advance_misuse_raises_clearly() -> None:
    cluster = _settled()
    a = cluster.nodes["a"].raw
    cluster.propose("a", b"put k v")
    ready = a.ready()
    with pytest.raises(RuntimeError):
        a.ready()
    assert not a.has_ready()  # nothing new until the outstanding Ready is advanced
    with pytest.raises(RuntimeError):
        a.advance(dataclasses.replace(ready))
    a.advance(ready)
    with pytest.raises(TypeError):
        a.propose("not bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        a.read_index(b"")


def test_a_conflict_truncated_between_ready_and_advance_keeps_the_matching_prefix_stable() -> None:
    """Between ready() and advance() a new leader may truncate entries the Ready is persisting."""
    cluster = _settled()
    b = cluster.nodes["b"].raw
    term = b.term
    last = b.status().last_index
    entries = tuple(Entry(term, last + 1 + i, EntryKind.NORMAL, b"put k v") for i in range(3))
    b.step(Message(MessageType.APPEND, "a", "b", term, index=last, log_term=term, entries=entries))
    ready = b.ready()
    assert [e.index for e in ready.entries] == [last + 1, last + 2, last + 3]
    # A leader of a newer term replaces the last two before the runtime calls advance().
    newer = (Entry(term + 1, last + 2, EntryKind.NOOP, b""),)
    b.step(Message(MessageType.APPEND, "c", "b", term + 1, index=last + 1, log_term=term, entries=newer))
    b.advance(ready)
    following = b.ready()
    assert following.entries == newer  # rewritten from the truncation point, nothing more
    b.advance(following)
