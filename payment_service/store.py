"""The payment ledger on disk: one SQLite file in WAL mode, fsynced before any reply, so PREPARED survives a crash.

Holds payments per transaction, card tokens (never the number or CVV) and the fence (the executor group's
incarnation and the newest coordinator term seen). No secret: the fingerprint key lives in its own file.
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
from utils.datafiles import secure_tree
from utils.twopc.core.participant import Fence

SCHEMA = """
CREATE TABLE IF NOT EXISTS payments (
  tx_id TEXT PRIMARY KEY, state TEXT NOT NULL, amount_cents INTEGER NOT NULL, token TEXT NOT NULL,
  card_last4 TEXT NOT NULL, reason TEXT NOT NULL, term INTEGER NOT NULL,
  created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS payments_by_state ON payments (state, updated_at);
CREATE TABLE IF NOT EXISTS tokens (
  token TEXT PRIMARY KEY, card_last4 TEXT NOT NULL, fingerprint TEXT NOT NULL, declined INTEGER NOT NULL,
  expiration_date TEXT NOT NULL, created_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS payments_by_token ON payments (token);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# Columns added after the first release, with the default an older row gets (ALTER TABLE on open).
_TOKEN_COLUMNS = {"order_id": "TEXT NOT NULL DEFAULT ''", "amount_cents_max": "INTEGER NOT NULL DEFAULT 0"}
_HOLDING = (PaymentState.PREPARED.value, PaymentState.CAPTURED.value)


@dataclass(frozen=True, slots=True)
class TokenRecord:
    token: str
    card_last4: str
    fingerprint: str  # keyed hash of the number: the same card gives the same fingerprint
    declined: bool
    expiration_date: str
    order_id: str = ""  # the one order it may pay for
    amount_cents_max: int = 0  # the most it may hold: the order's total at checkout


@dataclass(frozen=True, slots=True)
class StoredPayment:
    record: PaymentRecord
    created_at: float
    updated_at: float


class LedgerStore:
    """Thread-safe: one connection behind a lock; each `transact` is one SQLite transaction."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # Reentrant: the servicer reads a token's facts inside `transact`, so the check and the hold are one step.
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a PREPARED vote must survive power loss, not only a crash
        self._db.execute("PRAGMA secure_delete=ON")  # a deleted secret or purged row is overwritten, not left free
        self._db.executescript(SCHEMA)
        present = {row[1] for row in self._db.execute("PRAGMA table_info(tokens)")}
        for column, kind in _TOKEN_COLUMNS.items():
            if column not in present:
                self._db.execute(f"ALTER TABLE tokens ADD COLUMN {column} {kind}")
        secure_tree(path.parent)  # files an older version made with the default modes

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ---- payments ---------------------------------------------------------------------------------------------------
    def transact(self, tx_id: str, decide: Callable[[PaymentRecord | None, Fence], Outcome]) -> Outcome:
        """Loads the record and the fence, lets `decide` (the ledger core) step, persists, then returns.

        The write commits (fsync) before this returns, so the caller replies only about durable state.
        """
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                stored = self._load(tx_id)
                fence = self._fence()
                outcome = decide(stored.record if stored else None, fence)
                now = time.time()
                if outcome.persist is not None:
                    assert outcome.persist.tx_id == tx_id
                    self._save(outcome.persist, stored.created_at if stored else now, now)
                if outcome.fence != fence:
                    self._save_fence(outcome.fence)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return outcome

    def fence(self) -> Fence:
        with self._lock:
            return self._fence()

    def adopt(self, fence: Fence) -> Fence:
        """An operator's adoption of an executor-group incarnation (docs/operations.md); returns the one before."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                before = self._fence()
                self._save_fence(fence)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return before

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
            return self._fence().newest

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

    def _fence(self) -> Fence:
        rows = dict(self._db.execute("SELECT key, value FROM meta WHERE key IN ('term_seen', 'incarnation')"))
        return Fence(int(rows.get("term_seen", 0)), str(rows.get("incarnation", "")))

    def _save_fence(self, fence: Fence) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            [("term_seen", str(fence.newest)), ("incarnation", fence.incarnation)],
        )

    # ---- tokens and keys --------------------------------------------------------------------------------------------
    def save_token(self, token: TokenRecord) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO tokens (token, card_last4, fingerprint, declined, expiration_date, created_at, order_id, "
                "amount_cents_max) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    token.token,
                    token.card_last4,
                    token.fingerprint,
                    int(token.declined),
                    token.expiration_date,
                    time.time(),
                    token.order_id,
                    token.amount_cents_max,
                ),
            )

    def card_facts(self, token: str, tx_id: str = "") -> CardFacts | None:
        """What a Prepare of `tx_id` needs to know about `token`, including another transaction already using it."""
        with self._lock:
            row = self._db.execute(
                "SELECT card_last4, declined, order_id, amount_cents_max FROM tokens WHERE token = ?", (token,)
            ).fetchone()
            if row is None:
                return None
            other = self._db.execute(
                "SELECT tx_id FROM payments WHERE token = ? AND tx_id != ? AND state IN (?, ?) LIMIT 1",
                (token, tx_id, *_HOLDING),
            ).fetchone()
        return CardFacts(token, row[0], bool(row[1]), str(row[2]), int(row[3]), str(other[0]) if other else "")

    def token(self, token: str) -> TokenRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT token, card_last4, fingerprint, declined, expiration_date, order_id, amount_cents_max "
                "FROM tokens WHERE token = ?",
                (token,),
            ).fetchone()
        return TokenRecord(row[0], row[1], row[2], bool(row[3]), row[4], row[5], int(row[6])) if row else None

    def legacy_secret(self, name: str) -> str | None:
        """A secret an older version kept in this file, beside what it protects (None when there is none)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (f"secret:{name}",)).fetchone()
        return str(row[0]) if row else None

    def drop_legacy_secret(self, name: str) -> bool:
        """Removes that secret for good: secure_delete overwrites the row, the checkpoints and VACUUM leave no copy
        in the WAL or in free pages. True when there was one."""
        with self._lock:
            gone = self._db.execute("DELETE FROM meta WHERE key = ?", (f"secret:{name}",)).rowcount > 0
            if gone:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self._db.execute("VACUUM")
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return gone


def _row_to_payment(row: Any) -> StoredPayment:
    tx_id, state, amount, token, last4, reason, term, created, updated = row
    record = PaymentRecord(str(tx_id), PaymentState(state), int(amount), str(token), str(last4), str(reason), int(term))
    return StoredPayment(record, float(created), float(updated))
