"""The gateway under test: the real app factory with fake dependencies, driven by Flask's test client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from orchestrator.app import create_app
from orchestrator.books_source import BooksSource, CatalogBooksSource
from orchestrator.checkout import CheckoutService, NoTokenizer, Tokenizer
from orchestrator.dependencies import Dependencies
from orchestrator.idempotency import IdempotencyStore
from orchestrator.queue_adapter import QueueAdapter
from orchestrator.settings import OrchestratorSettings
from tests.services.orchestrator.fakes import FakeBooks, FakeCluster, FakeFlow, FakeQueue
from utils.catalog import Catalog
from utils.catalog.file import load_catalog

FRONTEND = "http://127.0.0.1:8080"


@dataclass
class Gateway:
    app: Flask
    client: FlaskClient
    flow: FakeFlow
    queue: FakeQueue
    idempotency: IdempotencyStore


def build_gateway(
    books: BooksSource | None = None,
    body_bytes_max: int = 64 * 1024,
    probes: dict[str, Callable[[], bool]] | None = None,
    catalog: Catalog | None = None,
    tokenizer: Tokenizer = NoTokenizer(),
    settings: OrchestratorSettings | None = None,
    flow: FakeFlow | None = None,
) -> Gateway:
    flow, queue = flow or FakeFlow(), FakeQueue()
    idempotency = IdempotencyStore(None, keys_max=100, ttl_s=3600)
    # The fake queue speaks the queue's proto, as the real client does: the real adapter converts and maps errors.
    checkout = CheckoutService(flow, QueueAdapter(queue), catalog or load_catalog(), tokenizer=tokenizer)
    dependencies = Dependencies(
        flow=flow,
        queue=queue,
        books=books or FakeBooks(),
        cluster=FakeCluster(),
        idempotency=idempotency,
        checkout=checkout,
        probes=probes or {},
    )
    app = create_app(dependencies, settings or OrchestratorSettings(body_bytes_max=body_bytes_max), [FRONTEND])
    return Gateway(app, app.test_client(), flow, queue, idempotency)


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    built = build_gateway()
    yield built
    built.idempotency.close()


@pytest.fixture
def catalog_only_gateway() -> Iterator[Gateway]:
    built = build_gateway(books=CatalogBooksSource(load_catalog()))
    yield built
    built.idempotency.close()
