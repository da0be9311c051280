"""The executor group's replicated state: per transaction BEGIN (order summary), DECISION (first wins), END; and
the group's incarnation, made by its first leader (first wins), which every 2PC message carries.

A Raft state machine: every replica applies the same commands in log order; a new leader reads it to recover.
ENDs travel in batches (docs/two-phase-commit.md "ENDs in batches"): any command may carry the ENDs of other
transactions in its `ends` member, and an `ends` command carries only those; a lost END costs a resend, never safety.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from order_executor.core.order import OrderSummary, Outcome, TxRecord

SNAPSHOT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Applied:
    """What apply() returns to the proposer: the record after the command, and whether the command changed it."""

    record: TxRecord | None
    changed: bool
    error: str = ""  # a command that cannot apply (e.g. END before a decision): no change
    # The batched ENDs the entry carried: those it ended now, and those it could not end (no decision logged: a
    # bug in the proposer, refused one by one and deterministically, so the entry's own command still applies).
    ended: tuple[str, ...] = ()
    ends_refused: tuple[str, ...] = ()


ENDS_PER_ENTRY_MAX = 64  # batched ENDs carried by one log entry (each ≤ 128 characters: ≤ ~9 KB per entry)


def _encode(body: dict[str, Any], ends: tuple[str, ...]) -> bytes:
    if len(ends) > ENDS_PER_ENTRY_MAX:
        raise ValueError(f"{len(ends)} ENDs in one entry; at most {ENDS_PER_ENTRY_MAX}")
    if ends:
        body["ends"] = list(ends)
    return json.dumps(body, sort_keys=True).encode()


def encode_begin(order: OrderSummary, ends: tuple[str, ...] = ()) -> bytes:
    return _encode({"op": "begin", "order": order.to_dict()}, ends)


def encode_decision(tx_id: str, outcome: Outcome, reason: str, ends: tuple[str, ...] = ()) -> bytes:
    return _encode({"op": "decide", "tx": tx_id, "outcome": outcome.value, "reason": reason}, ends)


def encode_end(tx_id: str) -> bytes:
    """One END alone: what logs written before batching hold (still applied); the runner now sends encode_ends."""
    return json.dumps({"op": "end", "tx": tx_id}, sort_keys=True).encode()


def encode_ends(tx_ids: tuple[str, ...]) -> bytes:
    """ENDs of finished transactions, batched into one entry of their own (when no other proposal carried them)."""
    if not tx_ids:
        raise ValueError("an ends entry carries at least one END")
    return _encode({"op": "ends"}, tx_ids)


def encode_incarnation(incarnation: str) -> bytes:
    """The group's incarnation id (random, made by the adapter): the first one logged is the group's for good."""
    return json.dumps({"op": "incarnate", "id": incarnation}, sort_keys=True).encode()


INCARNATION_CHARS_MAX = 64


def _ends_of(body: dict[str, Any]) -> tuple[str, ...]:
    raw = body.get("ends", [])
    if not isinstance(raw, list) or not all(isinstance(tx, str) and tx for tx in raw):
        raise ValueError("ends must be a list of transaction ids")
    if len(raw) > ENDS_PER_ENTRY_MAX:
        raise ValueError(f"{len(raw)} ENDs in one entry; at most {ENDS_PER_ENTRY_MAX}")
    return tuple(raw)


class DecisionLog:
    """Implements utils.raft.StateMachine. The runtime serialises apply() with reads (its apply lock)."""

    def __init__(self) -> None:
        self._records: dict[str, TxRecord] = {}
        self._open: set[str] = set()  # begun and not ended
        self._applied_index = 0
        self._incarnation = ""  # "" until the first leader logged one

    # ---- StateMachine ---------------------------------------------------------------------------------------------
    def apply(self, index: int, command: bytes) -> Applied:
        assert index > self._applied_index, f"applied {index} after {self._applied_index}"
        self._applied_index = index
        try:
            body = json.loads(command)
            op = body["op"]
            ends = _ends_of(body)  # read in full before anything applies: a malformed entry changes nothing
            if op == "begin":
                applied = self._begin(OrderSummary.from_dict(body["order"]), index)
            elif op == "decide":
                applied = self._decide(str(body["tx"]), Outcome(body["outcome"]), str(body.get("reason", "")), index)
            elif op == "end":
                applied = self._end(str(body["tx"]))
            elif op == "ends":
                applied = Applied(None, False)
            elif op == "incarnate":
                applied = self._incarnate(str(body["id"]))
            else:
                return Applied(None, False, f"unknown op {op!r}")
        except (ValueError, KeyError, TypeError) as error:
            # Deterministic on every replica: a malformed entry is refused, never half-applied.
            return Applied(None, False, f"malformed command: {error}")
        if not ends:
            return applied
        ended, refused = self._end_batch(ends)
        return replace(
            applied, changed=applied.changed or (op == "ends" and bool(ended)), ended=ended, ends_refused=refused
        )

    def snapshot(self) -> bytes:
        return json.dumps(
            {
                "version": SNAPSHOT_VERSION,
                "applied_index": self._applied_index,
                "records": [r.to_dict() for r in self._records.values()],
                "incarnation": self._incarnation,
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()

    def restore(self, data: bytes) -> None:
        body = json.loads(data)
        if body.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"snapshot version {body.get('version')!r}; this code reads {SNAPSHOT_VERSION}")
        records = [TxRecord.from_dict(raw) for raw in body["records"]]
        self._records = {r.tx_id: r for r in records}
        self._open = {r.tx_id for r in records if not r.ended}
        self._applied_index = int(body["applied_index"])
        self._incarnation = str(body.get("incarnation", ""))  # a snapshot from before incarnations: none yet

    # ---- commands ---------------------------------------------------------------------------------------------------
    def _begin(self, order: OrderSummary, index: int) -> Applied:
        known = self._records.get(order.order_id)
        if known is not None:
            return Applied(known, False)  # idempotent by order id: resume it, never restart it
        record = TxRecord(order, begun_index=index)
        self._records[order.order_id] = record
        self._open.add(order.order_id)
        return Applied(record, True)

    def _decide(self, tx_id: str, outcome: Outcome, reason: str, index: int) -> Applied:
        known = self._records.get(tx_id)
        if known is None:
            if outcome is not Outcome.ABORT:
                return Applied(None, False, f"COMMIT for {tx_id}, which was never begun")
            # Presumed abort recorded for a transaction nobody began here, so a later lease finds it decided.
            known = TxRecord(OrderSummary(tx_id, (), 0), begun_index=index)
            self._open.add(tx_id)
        elif known.decision is not None:
            return Applied(known, False)  # the first decision logged is the decision
        record = replace(known, decision=outcome, reason=reason)
        self._records[tx_id] = record
        return Applied(record, True)

    def _end(self, tx_id: str) -> Applied:
        known = self._records.get(tx_id)
        if known is None or known.decision is None:
            return Applied(known, False, f"END for {tx_id} without a decision")
        if known.ended:
            return Applied(known, False)
        record = replace(known, ended=True)
        self._records[tx_id] = record
        self._open.discard(tx_id)
        return Applied(record, True)

    def _end_batch(self, tx_ids: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(ended now, refused): an END is legal only after the decision (presumed abort needs the open BEGIN)."""
        ended: list[str] = []
        refused: list[str] = []
        for tx_id in tx_ids:
            one = self._end(tx_id)
            if one.error:
                refused.append(tx_id)
            elif one.changed:
                ended.append(tx_id)
        return tuple(ended), tuple(refused)

    def _incarnate(self, incarnation: str) -> Applied:
        if not incarnation or len(incarnation) > INCARNATION_CHARS_MAX:
            return Applied(None, False, f"incarnation must have 1 to {INCARNATION_CHARS_MAX} characters")
        if self._incarnation:
            return Applied(None, False)  # made once, at bootstrap: a second leader's proposal changes nothing
        self._incarnation = incarnation
        return Applied(None, True)

    # ---- queries ----------------------------------------------------------------------------------------------------
    @property
    def incarnation(self) -> str:
        return self._incarnation

    def record(self, tx_id: str) -> TxRecord | None:
        return self._records.get(tx_id)

    def open_records(self) -> list[TxRecord]:
        """Begun and not ended, oldest BEGIN first: what a new leader must finish."""
        return sorted((self._records[tx] for tx in self._open), key=lambda r: r.begun_index)

    def counts(self) -> tuple[int, int]:
        """(transactions begun, transactions open)."""
        return len(self._records), len(self._open)

    @property
    def applied_index(self) -> int:
        return self._applied_index

    def describe(self) -> dict[str, Any]:
        begun, still_open = self.counts()
        return {
            "begun": begun,
            "open": still_open,
            "applied_index": self._applied_index,
            "incarnation": self._incarnation,
        }
