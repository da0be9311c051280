"""Shared helpers of the order-execution end-to-end tests: which replicas there are, and each test's own books.

The fleet, its clients and the invariants check are testing/local_fleet.py's `Shop`; the env testing/fleet_env.py's.
"""

from __future__ import annotations

from utils.catalog.file import load_catalog

EXECUTORS = ("executor-1", "executor-2", "executor-3")
DATABASES = ("books-1", "books-2", "books-3")


def book(index: int) -> tuple[str, str, int]:
    """(id, title, initial stock) of the catalog's index-th book: each test uses its own books."""
    entry = load_catalog().books[index]
    return entry.id, entry.title, entry.initial_stock
