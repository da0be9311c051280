"""The executor group's replicated state: per transaction BEGIN (order summary), DECISION (first wins), END; and
the group's incarnation, made by its first leader (first wins), which every 2PC message carries.

A Raft state machine: every replica applies the same commands in log order; a new leader reads it to recover.
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


def encode_begin(order: OrderSummary) -> bytes:
    return json.dumps({"op": "begin", "order": order.to_dict()}, sort_keys=True).encode()


def encode_decision(tx_id: str, outcome: Outcome, reason: str) -> bytes:
    return json.dumps(
        {"op": "decide", "tx": tx_id, "outcome": outcome.value, "reason": reason}, sort_keys=True
    ).encode()


def encode_end(tx_id: str) -> bytes:
    return json.dumps({"op": "end", "tx": tx_id}, sort_keys=True).encode()


def encode_incarnation(incarnation: str) -> bytes:
    """The group's incarnation id (random, made by the adapter): the first one logged is the group's for good."""
    return json.dumps({"op": "incarnate", "id": incarnation}, sort_keys=True).encode()


INCARNATION_CHARS_MAX = 64


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
            if op == "begin":
                return self._begin(OrderSummary.from_dict(body["order"]), index)
            if op == "decide":
                return self._decide(str(body["tx"]), Outcome(body["outcome"]), str(body.get("reason", "")), index)
            if op == "end":
                return self._end(str(body["tx"]))
            if op == "incarnate":
                return self._incarnate(str(body["id"]))
        except (ValueError, KeyError, TypeError) as error:
            # Deterministic on every replica: a malformed entry is refused, never half-applied.
            return Applied(None, False, f"malformed command: {error}")
        return Applied(None, False, f"unknown op {op!r}")

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
