"""The BooksDatabase servicer's mapping and the leader client, over real gRPC with fake Raft nodes.

Followers redirect (FAILED_PRECONDITION + x-leader-address); the client follows, retries within its budget.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import grpc
import pytest

from books_database.client import BooksClient
from testing.pki import RoutedChannel, routed
from tests.services.books_database.fake_group import FakeGroup, fake_group
from utils.pb.books_database import books_database_pb2 as pb
from utils.pb.books_database import books_database_pb2_grpc as pb_grpc
from utils.rpc.leader_client import GroupUnavailable, LeaderClient, RetryPolicy, metadata_value

FAST = RetryPolicy(attempt_timeout_s=0.3, backoff_initial_s=0.01, backoff_max_s=0.05)


@pytest.fixture
def group() -> Iterator[FakeGroup]:
    with fake_group() as g:
        yield g


@pytest.fixture
def client(group: FakeGroup) -> Iterator[BooksClient]:
    c = BooksClient(group.peers, timeout_s=2.0, policy=FAST, channel_factory=routed())
    yield c
    c.close()


def _stub(group: FakeGroup, node_id: str) -> pb_grpc.BooksDatabaseStub:
    return pb_grpc.BooksDatabaseStub(RoutedChannel(group.peers[node_id], node_id))


def _error(call: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        call()  # type: ignore[operator]
    return raised.value


# ---- the servicer ----------------------------------------------------------------------------------


def test_a_follower_answers_every_call_with_the_primary_address(group: FakeGroup) -> None:
    stub = _stub(group, "books-2")
    leader = group.peers["books-1"]
    calls = [
        lambda: stub.ReadStock(pb.ReadStockRequest(book_id="a"), timeout=1),
        lambda: stub.ListBooks(pb.ListBooksRequest(), timeout=1),
        lambda: stub.DecrementStock(pb.StockChangeRequest(book_id="a", amount=1), timeout=1),
        lambda: stub.PrepareTransaction(
            pb.PrepareRequest(tx_id="t", items=[pb.Item(book_id="a", quantity=1)], coordinator_term=1), timeout=1
        ),
        lambda: stub.GetTransaction(pb.GetTransactionRequest(tx_id="t"), timeout=1),
    ]
    for call in calls:
        error = _error(call)
        assert error.code() is grpc.StatusCode.FAILED_PRECONDITION
        assert leader in (error.details() or "")
        assert metadata_value(error, "x-leader-address") == leader
        assert metadata_value(error, "x-leader-id") == "books-1"
    assert group.nodes["books-2"].proposals == 0


def test_no_primary_known_is_unavailable(group: FakeGroup) -> None:
    group.elect(None)
    error = _error(lambda: _stub(group, "books-1").ReadStock(pb.ReadStockRequest(book_id="a"), timeout=1))
    assert error.code() is grpc.StatusCode.UNAVAILABLE


def test_stock_writes_map_to_replies_and_status_codes(group: FakeGroup) -> None:
    stub = _stub(group, "books-1")
    short = stub.DecrementStock(pb.StockChangeRequest(book_id="b", amount=3), timeout=1)
    assert (short.success, short.stock, short.reason) == (False, 2, pb.INSUFFICIENT_STOCK)
    done = stub.DecrementStock(pb.StockChangeRequest(book_id="b", amount=2), timeout=1)
    assert (done.success, done.stock, done.available) == (True, 0, 0)
    restocked = stub.IncrementStock(pb.StockChangeRequest(book_id="b", amount=4), timeout=1)
    assert (restocked.success, restocked.stock) == (True, 4)
    unknown = _error(lambda: stub.DecrementStock(pb.StockChangeRequest(book_id="zz", amount=1), timeout=1))
    assert unknown.code() is grpc.StatusCode.NOT_FOUND and metadata_value(unknown, "x-reason") == "UNKNOWN_BOOK"
    bad = _error(lambda: stub.IncrementStock(pb.StockChangeRequest(book_id="a", amount=0), timeout=1))
    assert bad.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert group.nodes["books-1"].proposals == 4  # the invalid request never reached the log


def test_two_phase_commit_calls_map_to_votes_and_outcomes(group: FakeGroup) -> None:
    stub = _stub(group, "books-1")

    def prepare(tx: str, term: int, **items: int) -> pb.PrepareResponse:
        vote: pb.PrepareResponse = stub.PrepareTransaction(
            pb.PrepareRequest(
                tx_id=tx, coordinator_term=term, items=[pb.Item(book_id=b, quantity=q) for b, q in items.items()]
            ),
            timeout=1,
        )
        return vote

    vote = prepare("t1", 2, a=2, b=1)
    assert vote.vote == pb.VOTE_COMMIT and vote.state == pb.PREPARED
    assert [(i.book_id, i.quantity) for i in vote.reservations] == [("a", 2), ("b", 1)]
    assert stub.ReadStock(pb.ReadStockRequest(book_id="a"), timeout=1).available == 3
    no_stock = prepare("t2", 2, b=5)
    assert (no_stock.vote, no_stock.reason) == (pb.VOTE_ABORT, pb.INSUFFICIENT_STOCK) and "available" in no_stock.detail
    assert prepare("t3", 2, nope=1).reason == pb.UNKNOWN_BOOK
    got = stub.GetTransaction(pb.GetTransactionRequest(tx_id="t1"), timeout=1)
    assert (got.state, got.coordinator_term, len(got.items)) == (pb.PREPARED, 2, 2)

    stale = _error(lambda: stub.CommitTransaction(pb.CommitRequest(tx_id="t1", coordinator_term=1), timeout=1))
    assert stale.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert metadata_value(stale, "x-reason") == "STALE_TERM" and metadata_value(stale, "x-leader-address") is None
    assert stub.CommitTransaction(pb.CommitRequest(tx_id="t1", coordinator_term=2), timeout=1).state == pb.COMMITTED
    assert stub.AbortTransaction(pb.AbortRequest(tx_id="t1", coordinator_term=2), timeout=1).state == pb.COMMITTED

    ghost = _error(lambda: stub.CommitTransaction(pb.CommitRequest(tx_id="ghost", coordinator_term=2), timeout=1))
    assert ghost.code() is grpc.StatusCode.NOT_FOUND
    stub.AbortTransaction(pb.AbortRequest(tx_id="t2", coordinator_term=2), timeout=1)
    conflict = _error(lambda: stub.CommitTransaction(pb.CommitRequest(tx_id="t2", coordinator_term=2), timeout=1))
    assert conflict.code() is grpc.StatusCode.FAILED_PRECONDITION and metadata_value(conflict, "x-reason") == "CONFLICT"
    missing = _error(lambda: stub.GetTransaction(pb.GetTransactionRequest(tx_id="nope"), timeout=1))
    assert missing.code() is grpc.StatusCode.NOT_FOUND


def test_status_is_answered_by_every_replica_with_its_state_hash(group: FakeGroup) -> None:
    for node_id in group.peers:
        status = _stub(group, node_id).Status(pb.StatusRequest(), timeout=1)
        assert (status.node_id, status.leader_id, status.address) == (node_id, "books-1", group.peers[node_id])
        assert status.state_hash == group.nodes[node_id].store.query(lambda m: m.state_hash())
    assert _stub(group, "books-1").Status(pb.StatusRequest(), timeout=1).role == "leader"


# ---- the leader client -------------------------------------------------------------------------------


def test_the_client_follows_a_redirect_and_remembers_the_leader(group: FakeGroup, client: BooksClient) -> None:
    group.elect("books-3")
    assert client.decrement_stock("a", 1).stock == 4
    assert client.group.leader_address == group.peers["books-3"]
    assert [group.nodes[n].proposals for n in sorted(group.nodes)] == [0, 0, 1]
    group.elect("books-2")
    assert client.read_stock("a").stock == 5  # books-2 has its own (fake) state: the call went there


def test_the_client_skips_a_dead_replica(group: FakeGroup, client: BooksClient) -> None:
    client.read_stock("a")  # remembers books-1
    group.stop("books-1")
    group.elect("books-2")
    assert client.decrement_stock("a", 2).stock == 3
    assert client.group.leader_address == group.peers["books-2"]


def test_the_client_moves_past_a_paused_replica_within_its_budget(group: FakeGroup) -> None:
    stalled = group.nodes["books-1"]
    original = stalled.propose

    def hang(command: bytes, timeout_s: float | None = None) -> object:
        time.sleep(1.0)  # like SIGSTOP: the replica holds the call without answering
        return original(command, timeout_s)

    stalled.propose = hang  # type: ignore[method-assign]
    with fake_client(group, RetryPolicy(attempt_timeout_s=0.2, backoff_initial_s=0.01)) as c:
        c.read_stock("a")  # books-1 is the leader it knows
        for node_id in ("books-2", "books-3"):
            group.nodes[node_id].leader_id, group.nodes[node_id].leader_address = "books-2", group.peers["books-2"]
        assert c.decrement_stock("a", 1).success
    assert group.nodes["books-2"].proposals == 1


def test_no_primary_fails_cleanly_with_unavailable_within_the_deadline(group: FakeGroup, client: BooksClient) -> None:
    group.elect(None)
    started = time.monotonic()
    with pytest.raises(GroupUnavailable) as raised:
        client.decrement_stock("a", 1, timeout_s=0.5)
    assert raised.value.code() is grpc.StatusCode.UNAVAILABLE
    assert time.monotonic() - started < 1.5  # generous: the point is that it ends, near its deadline
    assert sum(n.proposals for n in group.nodes.values()) == 0


def test_a_write_retried_after_an_unknown_outcome_is_applied_once(group: FakeGroup, client: BooksClient) -> None:
    group.nodes["books-1"].fail_after_apply = 1
    reply = client.decrement_stock("a", 2, request_id="once")
    assert reply.stock == 3
    assert group.nodes["books-1"].proposals == 2
    assert client.read_stock("a").stock == 3


def test_a_non_idempotent_call_is_not_resent_after_an_unknown_outcome(group: FakeGroup) -> None:
    group.nodes["books-1"].fail_after_apply = 1
    raw: LeaderClient[pb_grpc.BooksDatabaseStub] = LeaderClient(
        group.peers, pb_grpc.BooksDatabaseStub, FAST, channel_factory=routed()
    )
    try:
        error = _error(
            lambda: raw.call(
                lambda s: s.IncrementStock,
                pb.StockChangeRequest(book_id="a", amount=1),
                timeout_s=1.0,
                retry_unknown_outcome=False,
            )
        )
        assert error.code() is grpc.StatusCode.UNAVAILABLE
        assert group.nodes["books-1"].proposals == 1
    finally:
        raw.close()


def test_a_refusal_is_returned_at_once_not_retried(group: FakeGroup, client: BooksClient) -> None:
    client.prepare("t1", [("a", 1)], coordinator_term=5)
    error = _error(lambda: client.commit("t1", coordinator_term=4))
    assert error.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert group.nodes["books-1"].proposals == 2
    assert client.get_transaction("t1").state == pb.PREPARED  # type: ignore[union-attr]
    assert client.get_transaction("never") is None


def test_status_all_marks_a_dead_replica(group: FakeGroup, client: BooksClient) -> None:
    group.stop("books-3")
    statuses = client.status_all()
    assert statuses["books-3"] is None
    assert statuses["books-1"] is not None and statuses["books-1"].role == "leader"


class fake_client:  # noqa: N801 - used as a context manager
    def __init__(self, group: FakeGroup, policy: RetryPolicy) -> None:
        self.client = BooksClient(group.peers, timeout_s=3.0, policy=policy, channel_factory=routed())

    def __enter__(self) -> BooksClient:
        return self.client

    def __exit__(self, *_: object) -> None:
        self.client.close()
