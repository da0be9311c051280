"""The gateway's seam to the books database (orchestrator/books_source.py) against a fake group over gRPC.

Stock figures are available copies; an unknown book and an unreachable database map to the gateway's errors.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from books_database.client import BooksClient
from orchestrator.books_source import BooksUnavailable, DatabaseBooksSource, UnknownBook
from testing.pki import routed
from tests.services.books_database.fake_group import CATALOG, FakeGroup, fake_group
from utils.rpc.leader_client import RetryPolicy


@pytest.fixture
def group() -> Iterator[FakeGroup]:
    with fake_group() as g:
        yield g


@pytest.fixture
def source(group: FakeGroup) -> Iterator[DatabaseBooksSource]:
    client = BooksClient(
        group.peers, policy=RetryPolicy(attempt_timeout_s=0.3, backoff_initial_s=0.01), channel_factory=routed()
    )
    yield DatabaseBooksSource(CATALOG, client, timeout_s=0.5)
    client.close()


def test_reads_and_restocks_go_to_the_primary(group: FakeGroup, source: DatabaseBooksSource) -> None:
    group.elect("books-2")
    assert source.read_stock("a") == 5
    assert source.increment_stock("a", 3) == 8
    assert group.nodes["books-2"].proposals == 1
    books = {b.book_id: b for b in source.list_books()}
    assert (books["a"].stock, str(books["a"].price), books["b"].title) == (8, "10.50", "Book B")
    assert source.readiness() == {"books_database": True}


def test_stock_is_what_a_buyer_can_get(source: DatabaseBooksSource, group: FakeGroup) -> None:
    BooksClient(group.peers, channel_factory=routed()).prepare("t1", [("a", 2)], coordinator_term=1)
    assert source.read_stock("a") == 3


def test_unknown_book_and_no_database_map_to_the_gateway_errors(group: FakeGroup, source: DatabaseBooksSource) -> None:
    with pytest.raises(UnknownBook):
        source.read_stock("nope")
    group.elect(None)
    with pytest.raises(BooksUnavailable):
        source.increment_stock("a", 1)
    assert all(b.stock is None for b in source.list_books())  # the catalog still shows, stock unknown
    assert source.readiness() == {"books_database": False}
