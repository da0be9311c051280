"""Idempotency keys with Stripe's semantics: the first response for a key is stored and replayed to every
retry; the same key with a different body → 422; a retry while the first request still runs → 409.

Finished responses live in SQLite under DATA_DIR (they survive a restart), bounded by a count and an
age; requests still running are known only in memory (a crash mid-request frees its key for a retry).
Bodies are compared by an HMAC of their canonical JSON, with a secret kept beside the database, so
the store never holds anything from which a card number could be recovered.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

KEY_CHARS_MAX = 255
_PRUNE_EVERY_COMPLETIONS = 100


class Decision(Enum):
    PROCEED = "proceed"  # first time: run the request, then complete() or release()
    REPLAY = "replay"  # answer with the stored response
    IN_FLIGHT = "in_flight"  # 409: the first request with this key is still running
    MISMATCH = "mismatch"  # 422: the key was used with a different request body


@dataclass(frozen=True, slots=True)
class StoredResponse:
    fingerprint: str
    status: int
    body: bytes
    created_at: float


@dataclass(frozen=True, slots=True)
class Begin:
    decision: Decision
    response: StoredResponse | None = None


def decide(stored: StoredResponse | None, running_fingerprint: str | None, fingerprint: str) -> Begin:
    """The rule, on its own: a stored answer wins; then a running twin; else go ahead."""
    if stored is not None:
        if stored.fingerprint != fingerprint:
            return Begin(Decision.MISMATCH)
        return Begin(Decision.REPLAY, stored)
    if running_fingerprint is not None:
        return Begin(Decision.MISMATCH if running_fingerprint != fingerprint else Decision.IN_FLIGHT)
    return Begin(Decision.PROCEED)


def is_valid_key(key: str) -> bool:
    return 0 < len(key) <= KEY_CHARS_MAX and key.isprintable()


class IdempotencyStore:
    def __init__(self, path: Path | None, keys_max: int, ttl_s: float, clock: Callable[[], float] = time.time) -> None:
        """`path` None keeps everything in memory (tests)."""
        if keys_max < 1 or ttl_s <= 0:
            raise ValueError("keys_max must be >= 1 and ttl_s > 0")
        self.keys_max = keys_max
        self.ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._running: dict[str, str] = {}
        self._completions = 0
        if path is None:
            self._secret = secrets.token_bytes(32)
            self._db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._secret = _load_secret(path.with_suffix(".secret"))
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, "
            "status INTEGER NOT NULL, body BLOB NOT NULL, created_at REAL NOT NULL)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS responses_by_age ON responses (created_at)")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def fingerprint(self, method: str, path: str, body: dict[str, Any]) -> str:
        canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hmac.new(self._secret, canonical.encode(), hashlib.sha256).hexdigest()

    def begin(self, key: str, fingerprint: str) -> Begin:
        with self._lock:
            stored = self._load(key)
            result = decide(stored, self._running.get(key), fingerprint)
            if result.decision is Decision.PROCEED:
                self._running[key] = fingerprint
            return result

    def complete(self, key: str, fingerprint: str, status: int, body: bytes) -> None:
        """Stores the first response for `key` and frees it for replays."""
        with self._lock:
            assert self._running.get(key) == fingerprint, "complete() without a matching begin()"
            del self._running[key]
            self._db.execute(
                "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?)",
                (key, fingerprint, status, body, self._clock()),
            )
            self._completions += 1
            if self._completions % _PRUNE_EVERY_COMPLETIONS == 0:
                self._prune()

    def release(self, key: str) -> None:
        """The request failed before it decided anything (e.g. a dependency was down): a retry runs anew."""
        with self._lock:
            self._running.pop(key, None)

    def stored_keys(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def _load(self, key: str) -> StoredResponse | None:
        row = self._db.execute(
            "SELECT fingerprint, status, body, created_at FROM responses WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        stored = StoredResponse(str(row[0]), int(row[1]), bytes(row[2]), float(row[3]))
        if stored.created_at <= self._clock() - self.ttl_s:
            self._db.execute("DELETE FROM responses WHERE key = ?", (key,))
            return None
        return stored

    def _prune(self) -> None:
        self._db.execute("DELETE FROM responses WHERE created_at <= ?", (self._clock() - self.ttl_s,))
        count = int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
        if count > self.keys_max:
            self._db.execute(
                "DELETE FROM responses WHERE key IN (SELECT key FROM responses ORDER BY created_at LIMIT ?)",
                (count - self.keys_max,),
            )


def _load_secret(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes()
    secret = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(secret)
    return secret
