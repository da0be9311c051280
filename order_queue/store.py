"""The queue on disk: one SQLite table in WAL mode, fsynced on every commit, so a restart loses no order.

The order itself is an opaque payload (the server's serialized proto); the columns are what the
queue sorts and filters on. Priority and lease rules come from policy.py and lease.py.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from order_queue.core import lease as lease_table
from order_queue.core.ack_batch import AckInput, Judgement, judge
from order_queue.core.lease import LeaseRecord, State, Transition, Verdict
from order_queue.core.policy import OrderFeatures, PriorityPolicy

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,   -- arrival order: breaks ties on rank_key
    order_id TEXT NOT NULL UNIQUE,
    payload BLOB NOT NULL,
    state TEXT NOT NULL,
    priority REAL NOT NULL,
    rank_key REAL NOT NULL,                  -- policy.rank_key: static, so it can be indexed
    enqueued_at REAL NOT NULL,
    lease_id TEXT NOT NULL DEFAULT '',
    lease_expires_at REAL NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT '',
    total TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_by_rank ON orders (state, rank_key DESC, seq);
"""
# Added after the first release (ALTER TABLE on open): 1 once the order's personal data is erased (retention.py).
_REDACTED_COLUMN = "redacted INTEGER NOT NULL DEFAULT 0"
_WAITING = ("QUEUED", "LEASED", "EXECUTING")
_HELD = ("LEASED", "EXECUTING")
_FINAL = tuple(s.value for s in lease_table.FINAL_STATES)
_PRUNE_EVERY_INSERTS = 100


class QueueFull(Exception):
    """The queue holds depth_max orders already (maps to RESOURCE_EXHAUSTED)."""


class UnknownOrder(Exception):
    """No order with that id (maps to NOT_FOUND)."""


@dataclass(frozen=True, slots=True)
class StoredOrder:
    order_id: str
    payload: bytes
    state: State
    priority: float
    enqueued_at: float
    lease_id: str
    lease_expires_at: float
    reason: str
    total: str
    attempts: int
    updated_at: float
    seq: int

    def lease_record(self) -> LeaseRecord:
        return LeaseRecord(self.state, self.lease_id, self.lease_expires_at, self.reason, self.total, self.attempts)


@dataclass(frozen=True, slots=True)
class EnqueueResult:
    order: StoredOrder
    created: bool
    depth: int


@dataclass(frozen=True, slots=True)
class AckAnswer:
    judgement: Judgement
    order: StoredOrder | None  # the order after the ack, when accepted


@dataclass(frozen=True, slots=True)
class QueueStats:
    depth: int
    leased: int
    depth_max: int


class QueueStore:
    """Thread-safe: one connection behind one lock (the queue's work per call is a few indexed rows)."""

    def __init__(
        self,
        path: Path,
        policy: PriorityPolicy,
        depth_max: int,
        final_records_max: int,
        clock: Callable[[], float] = time.time,
        new_lease_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ):
        if depth_max < 1 or final_records_max < 1:
            raise ValueError("depth_max and final_records_max must be >= 1")
        self.policy = policy
        self.depth_max = depth_max
        self.final_records_max = final_records_max
        self._clock = clock
        self._new_lease_id = new_lease_id
        self._lock = threading.Lock()
        self._inserts = 0
        self._commits = 0  # write transactions committed: each is one fsync of the WAL (synchronous=FULL)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # an acknowledged enqueue survives a crash of the machine too
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute("PRAGMA secure_delete=ON")  # erased personal data is overwritten, not left in free pages
        self._db.executescript(_SCHEMA)
        if "redacted" not in {row[1] for row in self._db.execute("PRAGMA table_info(orders)")}:
            self._db.execute(f"ALTER TABLE orders ADD COLUMN {_REDACTED_COLUMN}")
        self._db.execute("CREATE INDEX IF NOT EXISTS orders_to_redact ON orders (redacted, enqueued_at)")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @property
    def commits(self) -> int:
        """Transactions that wrote something, since open: the queue's fsyncs (a commit with no change writes none)."""
        return self._commits

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            changes = self._db.total_changes
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            if self._db.total_changes != changes:
                self._commits += 1

    # --- writes ---

    def enqueue(self, order_id: str, payload: bytes, features: OrderFeatures) -> EnqueueResult:
        _require_id(order_id)
        now = self._clock()
        with self._transaction() as db:
            existing = _select(db, order_id)
            if existing is not None:
                return EnqueueResult(existing, False, _depth(db))
            depth = _depth(db)
            if depth >= self.depth_max:
                raise QueueFull(f"the queue holds {depth} orders (queue_depth_max {self.depth_max})")
            priority = self.policy.base_priority(features)
            self._insert(db, order_id, payload, State.QUEUED, priority, now, reason="")
            stored = _select(db, order_id)
            assert stored is not None
            return EnqueueResult(stored, True, depth + 1)

    def record_rejected(self, order_id: str, payload: bytes, reason: str) -> bool:
        _require_id(order_id)
        now = self._clock()
        with self._transaction() as db:
            if _select(db, order_id) is not None:
                return False
            self._insert(db, order_id, payload, State.REJECTED, 0.0, now, reason=reason)
            return True

    def lease(self, lease_s: float) -> StoredOrder | None:
        """The highest-ranked queued order, leased (LEASED) for lease_s seconds; None when nothing waits."""
        leased = self.lease_batch(lease_s, 1, started=False)
        return leased[0] if leased else None

    def lease_batch(self, lease_s: float, count_max: int, started: bool = True) -> list[StoredOrder]:
        """Up to count_max queued orders in service order (policy.py's rank key, then arrival), each leased for
        lease_s seconds in one transaction; `started` makes each EXECUTING at once. [] when nothing waits."""
        if lease_s <= 0:
            raise ValueError("lease_s must be > 0")
        if count_max < 1:
            raise ValueError("count_max must be >= 1")
        now = self._clock()
        with self._transaction() as db:
            _requeue_expired(db, now)
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM orders WHERE state = 'QUEUED' ORDER BY rank_key DESC, seq ASC LIMIT ?",
                (count_max,),
            ).fetchall()
            leased = []
            for row in rows:
                stored = _from_row(row)
                transition = lease_table.grant(stored.lease_record(), self._new_lease_id(), lease_s, now, started)
                leased.append(self._write(db, stored, transition, now))
            return leased

    def mark_executing(self, order_id: str, lease_id: str) -> StoredOrder:
        now = self._clock()
        return self._apply(order_id, now, lambda r: lease_table.mark_executing(r, lease_id, now))

    def ack(self, order_id: str, lease_id: str, outcome: State, reason: str, total: str) -> StoredOrder:
        now = self._clock()
        return self._apply(order_id, now, lambda r: lease_table.ack(r, lease_id, outcome, reason, total, now))

    def ack_batch(self, acks: Sequence[AckInput]) -> list[AckAnswer]:
        """Each ack judged alone (core/ack_batch.py) and every accepted change written in ONE commit; returns
        only after that commit, so an accepted ack is durable when its caller hears of it."""
        now = self._clock()
        with self._transaction() as db:
            stored = {o.order_id: o for o in (_select(db, order_id) for order_id in {a.order_id for a in acks}) if o}
            verdict = judge({k: v.lease_record() for k, v in stored.items()}, acks, now)
            for order_id, record in verdict.writes.items():
                self._write(db, stored[order_id], Transition(record, Verdict.CHANGED), now)
        answers = []
        for j in verdict.judgements:
            if j.record is None:
                answers.append(AckAnswer(j, None))
            else:
                before = stored[j.order_id]
                updated_at = now if j.order_id in verdict.writes else before.updated_at
                answers.append(AckAnswer(j, _with_record(before, j.record, updated_at)))
        return answers

    def decide(self, order_id: str, outcome: State, reason: str, total: str) -> StoredOrder:
        now = self._clock()
        return self._apply(order_id, now, lambda r: lease_table.decide(r, outcome, reason, total))

    def nack(self, order_id: str, lease_id: str) -> StoredOrder:
        now = self._clock()
        return self._apply(order_id, now, lambda r: lease_table.nack(r, lease_id, now))

    # --- reads ---

    def get(self, order_id: str) -> StoredOrder | None:
        now = self._clock()
        with self._lock:
            stored = _select(self._db, order_id)
        if stored is None:
            return None
        record = lease_table.expire(stored.lease_record(), now)  # show an expired lease as queued again
        return stored if record.state is stored.state else _with_record(stored, record, stored.updated_at)

    def stats(self) -> QueueStats:
        now = self._clock()
        with self._lock:
            rows = dict(
                self._db.execute(
                    "SELECT state, COUNT(*) FROM orders WHERE state IN (?, ?, ?) GROUP BY state", _WAITING
                ).fetchall()
            )
            expired = self._db.execute(
                "SELECT COUNT(*) FROM orders WHERE state IN (?, ?) AND lease_expires_at <= ?", (*_HELD, now)
            ).fetchone()[0]
        depth = sum(rows.values())
        leased = rows.get("LEASED", 0) + rows.get("EXECUTING", 0) - expired
        return QueueStats(depth=depth, leased=leased, depth_max=self.depth_max)

    # --- helpers ---

    def _apply(self, order_id: str, now: float, step: Callable[[LeaseRecord], Transition]) -> StoredOrder:
        with self._transaction() as db:
            stored = _select(db, order_id)
            if stored is None:
                raise UnknownOrder(f"no order {order_id!r}")
            return self._write(db, stored, step(stored.lease_record()), now)

    def _write(self, db: sqlite3.Connection, stored: StoredOrder, transition: Transition, now: float) -> StoredOrder:
        if transition.verdict is Verdict.UNCHANGED:
            return _with_record(stored, transition.record, stored.updated_at)
        r = transition.record
        db.execute(
            "UPDATE orders SET state = ?, lease_id = ?, lease_expires_at = ?, reason = ?, total = ?, "
            "attempts = ?, updated_at = ? WHERE seq = ?",
            (r.state.value, r.lease_id, r.lease_expires_at, r.reason, r.total, r.attempts, now, stored.seq),
        )
        return _with_record(stored, r, now)

    def _insert(
        self,
        db: sqlite3.Connection,
        order_id: str,
        payload: bytes,
        state: State,
        priority: float,
        now: float,
        reason: str,
    ) -> None:
        db.execute(
            "INSERT INTO orders (order_id, payload, state, priority, rank_key, enqueued_at, reason, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (order_id, payload, state.value, priority, self.policy.rank_key(priority, now), now, reason, now),
        )
        self._inserts += 1
        if self._inserts % _PRUNE_EVERY_INSERTS == 0:
            self._prune_final(db)

    def redact_older_than(self, cutoff: float, redact: Callable[[bytes], bytes], batch_max: int) -> int:
        """Rewrites the payload of up to `batch_max` orders enqueued before `cutoff` with `redact` (docs/operations.md
        retention); returns how many. The WAL is checkpointed after, so no copy of the old bytes stays in it."""
        with self._transaction() as db:
            rows = db.execute(
                "SELECT seq, payload FROM orders WHERE redacted = 0 AND enqueued_at < ? ORDER BY enqueued_at LIMIT ?",
                (cutoff, batch_max),
            ).fetchall()
            db.executemany(
                "UPDATE orders SET payload = ?, redacted = 1 WHERE seq = ?",
                [(redact(bytes(payload)), seq) for seq, payload in rows],
            )
        if rows:
            with self._lock:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return len(rows)

    def _prune_final(self, db: sqlite3.Connection) -> None:
        """Forgets the oldest finished orders beyond final_records_max, so the file stays bounded."""
        marks = ",".join("?" * len(_FINAL))
        count = db.execute(f"SELECT COUNT(*) FROM orders WHERE state IN ({marks})", _FINAL).fetchone()[0]
        excess = count - self.final_records_max
        if excess > 0:
            db.execute(
                f"DELETE FROM orders WHERE seq IN (SELECT seq FROM orders WHERE state IN ({marks}) "
                "ORDER BY updated_at ASC LIMIT ?)",
                (*_FINAL, excess),
            )


_COLUMNS = (
    "order_id, payload, state, priority, enqueued_at, lease_id, lease_expires_at, reason, total, attempts, "
    "updated_at, seq"
)


def _require_id(order_id: str) -> None:
    if not order_id:
        raise ValueError("an order needs an order_id")


def _from_row(row: tuple[Any, ...]) -> StoredOrder:
    (order_id, payload, state, priority, enqueued_at, lease_id, expires, reason, total, attempts, updated_at, seq) = row
    return StoredOrder(
        str(order_id),
        bytes(payload),
        State(state),
        float(priority),
        float(enqueued_at),
        str(lease_id),
        float(expires),
        str(reason),
        str(total),
        int(attempts),
        float(updated_at),
        int(seq),
    )


def _select(db: sqlite3.Connection, order_id: str) -> StoredOrder | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM orders WHERE order_id = ?", (order_id,)).fetchone()
    return None if row is None else _from_row(row)


def _with_record(stored: StoredOrder, r: LeaseRecord, updated_at: float) -> StoredOrder:
    return StoredOrder(
        stored.order_id,
        stored.payload,
        r.state,
        stored.priority,
        stored.enqueued_at,
        r.lease_id,
        r.lease_expires_at,
        r.reason,
        r.total,
        r.attempts,
        updated_at,
        stored.seq,
    )


def _depth(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT COUNT(*) FROM orders WHERE state IN (?, ?, ?)", _WAITING).fetchone()[0])


def _requeue_expired(db: sqlite3.Connection, now: float) -> None:
    """Expired leases go back to the queue at their priority (their rank_key never changed)."""
    db.execute(
        "UPDATE orders SET state = 'QUEUED', updated_at = ? WHERE state IN (?, ?) AND lease_expires_at <= ?",
        (now, *_HELD, now),
    )
