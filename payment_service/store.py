"""The payment ledger on disk: one SQLite file in WAL mode, fsynced before any reply, so PREPARED survives a crash.

Holds payments per transaction, card tokens (never the number or CVV) and the newest coordinator term seen.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from payment_service.core.ledger import CardFacts, Outcome, PaymentRecord, PaymentState

SCHEMA = """
CREATE TABLE IF NOT EXISTS payments (
  tx_id TEXT PRIMARY KEY, state TEXT NOT NULL, amount_cents INTEGER NOT NULL, token TEXT NOT NULL,
  card_last4 TEXT NOT NULL, reason TEXT NOT NULL, term INTEGER NOT NULL,
  created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS payments_by_state ON payments (state, updated_at);
CREATE TABLE IF NOT EXISTS tokens (
  token TEXT PRIMARY KEY, card_last4 TEXT NOT NULL, fingerprint TEXT NOT NULL, declined INTEGER NOT NULL,
  expiration_date TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class TokenRecord:
    token: str
    card_last4: str
    fingerprint: str  # keyed hash of the number: the same card gives the same fingerprint
    declined: bool
    expiration_date: str


@dataclass(frozen=True, slots=True)
class StoredPayment:
    record: PaymentRecord
    created_at: float
    updated_at: float


class LedgerStore:
    """Thread-safe: one connection behind a lock; each `transact` is one SQLite transaction."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a PREPARED vote must survive power loss, not only a crash
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ---- payments ---------------------------------------------------------------------------------------------------
    def transact(self, tx_id: str, decide: Callable[[PaymentRecord | None, int], Outcome]) -> Outcome:
        """Loads the record and the newest term, lets `decide` (the ledger core) step, persists, then returns.

        The write commits (fsync) before this returns, so the caller replies only about durable state.
        """
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                stored = self._load(tx_id)
                term_seen = self._term_seen()
                outcome = decide(stored.record if stored else None, term_seen)
                now = time.time()
                if outcome.persist is not None:
                    assert outcome.persist.tx_id == tx_id
                    self._save(outcome.persist, stored.created_at if stored else now, now)
                if outcome.term_seen > term_seen:
                    self._db.execute(
                        "INSERT OR REPLACE INTO meta (key, value) VALUES ('term_seen', ?)", (str(outcome.term_seen),)
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return outcome

    def get(self, tx_id: str) -> StoredPayment | None:
        with self._lock:
            return self._load(tx_id)

    def in_state(
        self, state: PaymentState, updated_before: float | None = None, limit: int = 1_000
    ) -> list[StoredPayment]:
        """Payments in `state`, oldest change first (e.g. PREPARED ones still waiting for a decision)."""
        cutoff = time.time() if updated_before is None else updated_before
        with self._lock:
            rows = self._db.execute(
                "SELECT tx_id, state, amount_cents, token, card_last4, reason, term, created_at, updated_at "
                "FROM payments WHERE state = ? AND updated_at <= ? ORDER BY updated_at LIMIT ?",
                (state.value, cutoff, limit),
            ).fetchall()
        return [_row_to_payment(row) for row in rows]

    def counts(self) -> dict[PaymentState, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM payments GROUP BY state").fetchall()
        return {PaymentState(state): int(n) for state, n in rows}

    def term_seen(self) -> int:
        with self._lock:
            return self._term_seen()

    def _load(self, tx_id: str) -> StoredPayment | None:
        row = self._db.execute(
            "SELECT tx_id, state, amount_cents, token, card_last4, reason, term, created_at, updated_at "
            "FROM payments WHERE tx_id = ?",
            (tx_id,),
        ).fetchone()
        return _row_to_payment(row) if row else None

    def _save(self, record: PaymentRecord, created_at: float, updated_at: float) -> None:
        assert record.state is not PaymentState.NONE, "NONE is the absence of a record"
        self._db.execute(
            "INSERT OR REPLACE INTO payments (tx_id, state, amount_cents, token, card_last4, reason, term, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.tx_id,
                record.state.value,
                record.amount_cents,
                record.token,
                record.card_last4,
                record.reason,
                record.term,
                created_at,
                updated_at,
            ),
        )

    def _term_seen(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'term_seen'").fetchone()
        return int(row[0]) if row else 0

    # ---- tokens and keys --------------------------------------------------------------------------------------------
    def save_token(self, token: TokenRecord) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO tokens (token, card_last4, fingerprint, declined, expiration_date, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    token.token,
                    token.card_last4,
                    token.fingerprint,
                    int(token.declined),
                    token.expiration_date,
                    time.time(),
                ),
            )

    def card_facts(self, token: str) -> CardFacts | None:
        with self._lock:
            row = self._db.execute("SELECT card_last4, declined FROM tokens WHERE token = ?", (token,)).fetchone()
        return CardFacts(token, row[0], bool(row[1])) if row else None

    def token(self, token: str) -> TokenRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT token, card_last4, fingerprint, declined, expiration_date FROM tokens WHERE token = ?", (token,)
            ).fetchone()
        return TokenRecord(row[0], row[1], row[2], bool(row[3]), row[4]) if row else None

    def secret(self, name: str, make: Callable[[], str]) -> str:
        """A per-installation secret (e.g. the fingerprint key), made once and kept."""
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (f"secret:{name}", make()))
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (f"secret:{name}",)).fetchone()
        return str(row[0])


def _row_to_payment(row: Any) -> StoredPayment:
    tx_id, state, amount, token, last4, reason, term, created, updated = row
    record = PaymentRecord(str(tx_id), PaymentState(state), int(amount), str(token), str(last4), str(reason), int(term))
    return StoredPayment(record, float(created), float(updated))
