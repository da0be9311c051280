"""utils/rpc/status.py: each Raft error, in each service's spelling, becomes one status code, detail and metadata.

A fake ServicerContext records what a handler sets; a fake RpcError carries trailing metadata back to the reader.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
import pytest

from books_database.server import RAFT_ERROR_WIRE as BOOKS
from order_executor.server import RAFT_ERROR_WIRE as EXECUTOR
from utils.raft.errors import NotLeader, RaftUnavailable
from utils.rpc.status import (
    LeaderHint,
    RaftErrorWire,
    abort,
    abort_for_raft_error,
    leader_hint,
    metadata_value,
)

RAFT_KV = RaftErrorWire()
FP, UNAVAILABLE = grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.UNAVAILABLE
DEADLINE, EXHAUSTED = grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED

REDIRECT = NotLeader("n2", "host:2")
LEADERLESS = NotLeader(None, None)
UNKNOWN = RaftUnavailable("timed out")
NOT_APPLIED = RaftUnavailable("stopped", outcome_unknown=False)
OVERLOADED = RaftUnavailable("inbox full", overloaded=True)
TO_N2 = (("x-leader-id", "n2"), ("x-leader-address", "host:2"))
TO_NOBODY = (("x-leader-id", ""), ("x-leader-address", ""))


class Aborted(Exception):
    pass


class FakeContext:
    def __init__(self) -> None:
        self.trailing: tuple[tuple[str, str], ...] = ()
        self.code: grpc.StatusCode | None = None
        self.detail = ""

    def set_trailing_metadata(self, metadata: Sequence[tuple[str, str]]) -> None:
        self.trailing = tuple(metadata)

    def abort(self, code: grpc.StatusCode, detail: str) -> None:
        self.code, self.detail = code, detail
        raise Aborted(detail)


TABLE = [
    # The harness's (and utils/raft/errors.py's) mapping: DEADLINE_EXCEEDED is "may have committed".
    ("raft_kv", RAFT_KV, REDIRECT, FP, "not the leader; leader is n2 at host:2", TO_N2),
    ("raft_kv", RAFT_KV, LEADERLESS, FP, "not the leader; leader is unknown at unknown", TO_NOBODY),
    ("raft_kv", RAFT_KV, UNKNOWN, DEADLINE, "timed out", ()),
    ("raft_kv", RAFT_KV, NOT_APPLIED, UNAVAILABLE, "stopped", (("x-raft-outcome", "not-applied"),)),
    ("raft_kv", RAFT_KV, OVERLOADED, EXHAUSTED, "inbox full", ()),
    # The books database: UNAVAILABLE with x-outcome-unknown, and no redirect before a primary is elected.
    ("books", BOOKS, REDIRECT, FP, "not the primary; the primary is n2 at host:2", TO_N2),
    ("books", BOOKS, LEADERLESS, UNAVAILABLE, "no primary elected yet; retry shortly", (("x-outcome-unknown", "0"),)),
    ("books", BOOKS, UNKNOWN, UNAVAILABLE, "no quorum: timed out", (("x-outcome-unknown", "1"),)),
    ("books", BOOKS, NOT_APPLIED, UNAVAILABLE, "no quorum: stopped", (("x-outcome-unknown", "0"),)),
    ("books", BOOKS, OVERLOADED, EXHAUSTED, "primary overloaded: inbox full", ()),
    # The executor group's GetDecision: a redirect always, UNAVAILABLE for everything else.
    ("executor", EXECUTOR, REDIRECT, FP, "not the leader; leader is n2 at host:2", TO_N2),
    ("executor", EXECUTOR, LEADERLESS, FP, "not the leader; leader is unknown at unknown", TO_NOBODY),
    ("executor", EXECUTOR, UNKNOWN, UNAVAILABLE, "timed out", ()),
    ("executor", EXECUTOR, NOT_APPLIED, UNAVAILABLE, "stopped", ()),
    ("executor", EXECUTOR, OVERLOADED, UNAVAILABLE, "inbox full", ()),
]


@pytest.mark.parametrize(
    ("service", "wire", "error", "code", "detail", "metadata"),
    TABLE,
    ids=[f"{row[0]}-{i}" for i, row in enumerate(TABLE)],
)
def test_each_raft_error_becomes_its_status(
    service: str,
    wire: RaftErrorWire,
    error: NotLeader | RaftUnavailable,
    code: grpc.StatusCode,
    detail: str,
    metadata: tuple[tuple[str, str], ...],
) -> None:
    context = FakeContext()
    with pytest.raises(Aborted):
        abort_for_raft_error(context, error, wire)  # type: ignore[arg-type]
    assert (context.code, context.detail, context.trailing) == (code, detail, metadata)


def test_abort_sends_the_reason_after_other_metadata_and_sets_none_when_there_is_none() -> None:
    context = FakeContext()
    with pytest.raises(Aborted):
        abort(
            context,  # type: ignore[arg-type]
            grpc.StatusCode.NOT_FOUND,
            "no book",
            reason="UNKNOWN_BOOK",
            metadata=[("x-other", "1")],
        )
    assert (context.code, context.detail) == (grpc.StatusCode.NOT_FOUND, "no book")
    assert context.trailing == (("x-other", "1"), ("x-reason", "UNKNOWN_BOOK"))
    bare = FakeContext()
    with pytest.raises(Aborted):
        abort(bare, grpc.StatusCode.INVALID_ARGUMENT, "bad")  # type: ignore[arg-type]
    assert bare.trailing == ()


class _Item:
    def __init__(self, key: str, value: str) -> None:
        self.key, self.value = key, value


class FakeRpcError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, trailing: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self._code, self._trailing = code, [_Item(k, v) for k, v in trailing]

    def code(self) -> grpc.StatusCode:
        return self._code

    def trailing_metadata(self) -> list[_Item]:  # type: ignore[override]  # grpc's _Metadatum has .key/.value too
        return self._trailing


def test_the_client_reads_back_the_leader_a_redirect_names() -> None:
    context = FakeContext()
    with pytest.raises(Aborted):
        abort_for_raft_error(context, REDIRECT)  # type: ignore[arg-type]
    assert context.code is not None
    assert leader_hint(FakeRpcError(context.code, context.trailing)) == LeaderHint("n2", "host:2")
    # As sent: "" is a follower that knows no leader; only FAILED_PRECONDITION is a redirect.
    assert leader_hint(FakeRpcError(FP, TO_NOBODY)) == LeaderHint("", "")
    assert leader_hint(FakeRpcError(UNAVAILABLE, TO_N2)) == LeaderHint()
    assert metadata_value(FakeRpcError(UNAVAILABLE, (("x-outcome-unknown", "0"),)), "x-outcome-unknown") == "0"
    assert metadata_value(FakeRpcError(UNAVAILABLE, ()), "x-outcome-unknown") is None
