"""The books database's write commands: what goes into the Raft log, and their byte encoding.

Frozen dataclasses, encoded as canonical JSON so every replica decodes exactly the same command.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

REQUEST_ID_CHARS_MAX = 128
TX_ID_CHARS_MAX = 128
INCARNATION_CHARS_MAX = 64
BOOK_ID_CHARS_MAX = 128
BOOKS_PER_TRANSACTION_MAX = 100  # distinct books in one 2PC transaction (an order's lines, summed per book)
AMOUNT_MAX = 1_000_000  # copies in one stock change or one item


class CommandError(ValueError):
    """A command that cannot be built or decoded: the caller's input is wrong (INVALID_ARGUMENT)."""


def _check_id(name: str, value: str, chars_max: int, *, empty_ok: bool = False) -> None:
    if not isinstance(value, str) or (not value and not empty_ok) or len(value) > chars_max:
        raise CommandError(f"{name} must be a string of 1..{chars_max} characters, got {value!r}")


def _check_count(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= AMOUNT_MAX:
        raise CommandError(f"{name} must be an integer in 1..{AMOUNT_MAX}, got {value!r}")


def _check_term(value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise CommandError(f"coordinator_term must be a non-negative integer, got {value!r}")


def _check_incarnation(value: str, *, empty_ok: bool = True) -> None:
    _check_id("incarnation", value, INCARNATION_CHARS_MAX, empty_ok=empty_ok)


@dataclass(frozen=True, slots=True)
class Item:
    book_id: str
    quantity: int

    def __post_init__(self) -> None:
        _check_id("book_id", self.book_id, BOOK_ID_CHARS_MAX)
        _check_count("quantity", self.quantity)


def merge_items(items: Iterable[Item]) -> tuple[Item, ...]:
    """One item per book (quantities summed), sorted by book id: the canonical form a Prepare carries."""
    totals: dict[str, int] = {}
    for item in items:
        totals[item.book_id] = totals.get(item.book_id, 0) + item.quantity
    return tuple(Item(book_id, quantity) for book_id, quantity in sorted(totals.items()))


@dataclass(frozen=True, slots=True)
class DecrementStock:
    """Takes `amount` copies off the shelf, only if that many are available (not reserved)."""

    book_id: str
    amount: int
    request_id: str = ""  # the client's id for this write: a retried write is applied once

    def __post_init__(self) -> None:
        _check_id("book_id", self.book_id, BOOK_ID_CHARS_MAX)
        _check_count("amount", self.amount)
        _check_id("request_id", self.request_id, REQUEST_ID_CHARS_MAX, empty_ok=True)


@dataclass(frozen=True, slots=True)
class IncrementStock:
    """Restocks `amount` copies."""

    book_id: str
    amount: int
    request_id: str = ""

    def __post_init__(self) -> None:
        _check_id("book_id", self.book_id, BOOK_ID_CHARS_MAX)
        _check_count("amount", self.amount)
        _check_id("request_id", self.request_id, REQUEST_ID_CHARS_MAX, empty_ok=True)


@dataclass(frozen=True, slots=True)
class PrepareTransaction:
    """2PC phase 1: reserve every item for `tx_id`, or vote to abort."""

    tx_id: str
    items: tuple[Item, ...]
    coordinator_term: int
    incarnation: str = ""  # the executor group's (utils/twopc/core/participant.py Fence); "" in older log entries

    def __post_init__(self) -> None:
        _check_id("tx_id", self.tx_id, TX_ID_CHARS_MAX)
        _check_term(self.coordinator_term)
        _check_incarnation(self.incarnation)
        if not 0 < len(self.items) <= BOOKS_PER_TRANSACTION_MAX:
            raise CommandError(f"a transaction has 1..{BOOKS_PER_TRANSACTION_MAX} items, got {len(self.items)}")
        if self.items != merge_items(self.items):
            raise CommandError("items must name each book once, sorted by book id (use PrepareTransaction.of)")

    @classmethod
    def of(cls, tx_id: str, items: Iterable[Item], coordinator_term: int, incarnation: str = "") -> PrepareTransaction:
        """Builds a Prepare from items in any order, merging repeated books."""
        return cls(tx_id, merge_items(items), coordinator_term, incarnation)


@dataclass(frozen=True, slots=True)
class CommitTransaction:
    """2PC phase 2, decision COMMIT: the reservation becomes a decrement."""

    tx_id: str
    coordinator_term: int
    incarnation: str = ""

    def __post_init__(self) -> None:
        _check_id("tx_id", self.tx_id, TX_ID_CHARS_MAX)
        _check_term(self.coordinator_term)
        _check_incarnation(self.incarnation)


@dataclass(frozen=True, slots=True)
class AbortTransaction:
    """2PC phase 2, decision ABORT (or presumed abort): the reservation is released."""

    tx_id: str
    coordinator_term: int
    incarnation: str = ""

    def __post_init__(self) -> None:
        _check_id("tx_id", self.tx_id, TX_ID_CHARS_MAX)
        _check_term(self.coordinator_term)
        _check_incarnation(self.incarnation)


@dataclass(frozen=True, slots=True)
class ResolveTransaction:
    """An operator's resolution of an in-doubt transaction (docs/operations.md): the participant's own Commit
    (commit=True) or Abort rule, outside the fence."""

    tx_id: str
    commit: bool

    def __post_init__(self) -> None:
        _check_id("tx_id", self.tx_id, TX_ID_CHARS_MAX)
        if not isinstance(self.commit, bool):
            raise CommandError(f"commit must be a boolean, got {self.commit!r}")


@dataclass(frozen=True, slots=True)
class AdoptIncarnation:
    """An operator's adoption of a new executor-group incarnation, from `coordinator_term` on."""

    incarnation: str
    coordinator_term: int

    def __post_init__(self) -> None:
        _check_incarnation(self.incarnation, empty_ok=False)
        _check_term(self.coordinator_term)


Command = (
    DecrementStock
    | IncrementStock
    | PrepareTransaction
    | CommitTransaction
    | AbortTransaction
    | ResolveTransaction
    | AdoptIncarnation
)
StockCommand = DecrementStock | IncrementStock
TransactionCommand = PrepareTransaction | CommitTransaction | AbortTransaction
OperatorCommand = ResolveTransaction | AdoptIncarnation

_KINDS: dict[str, type[Command]] = {
    "decrement": DecrementStock,
    "increment": IncrementStock,
    "prepare": PrepareTransaction,
    "commit": CommitTransaction,
    "abort": AbortTransaction,
    "resolve": ResolveTransaction,
    "adopt": AdoptIncarnation,
}
# Fields added after the first release: an older log entry without them decodes with the default.
_OPTIONAL_FIELDS = frozenset({"incarnation"})
_KIND_OF: dict[type[Command], str] = {cls: kind for kind, cls in _KINDS.items()}


def command_to_json(command: Command) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": _KIND_OF[type(command)]}
    for name in command.__dataclass_fields__:
        value = getattr(command, name)
        body[name] = [[item.book_id, item.quantity] for item in value] if name == "items" else value
    return body


def command_from_json(body: Any) -> Command:
    if not isinstance(body, dict) or body.get("kind") not in _KINDS:
        raise CommandError(f"not a books command: {body!r:.200}")
    cls = _KINDS[body["kind"]]
    fields = {k: v for k, v in body.items() if k != "kind"}
    missing_ok = _OPTIONAL_FIELDS & set(cls.__dataclass_fields__)
    if not set(cls.__dataclass_fields__) - missing_ok <= set(fields) <= set(cls.__dataclass_fields__):
        raise CommandError(f"{body['kind']}: fields {sorted(fields)} do not match {sorted(cls.__dataclass_fields__)}")
    try:
        if "items" in fields:
            fields["items"] = tuple(Item(str(book_id), quantity) for book_id, quantity in fields["items"])
        return cls(**fields)
    except (TypeError, ValueError) as error:
        raise CommandError(f"{body['kind']}: {error}") from error


def encode_command(command: Command) -> bytes:
    """Canonical JSON (sorted keys, no spaces): equal commands give equal bytes."""
    return json.dumps(command_to_json(command), sort_keys=True, separators=(",", ":")).encode()


def decode_command(data: bytes) -> Command:
    try:
        body = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CommandError(f"undecodable command: {error}") from error
    return command_from_json(body)
