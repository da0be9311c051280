"""Reads the catalog file shipped in the repository (utils/catalog/books.json), once per process.

The one place the catalog touches the disk; everything else takes a `Catalog` value.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from utils.catalog import Catalog, parse_catalog

CATALOG_FILE = Path(__file__).with_name("books.json")


@cache
def load_catalog(path: Path = CATALOG_FILE) -> Catalog:
    return parse_catalog(path.read_text())
