"""The run's raw record as JSON (--history): every checkout, order state, stock read, restock, status sample
and fault, for a post-mortem beyond the report — and read back, to check a recorded run again.
"""

from __future__ import annotations

import dataclasses
import json
from enum import Enum
from pathlib import Path
from typing import Any

from chaos.records import FaultRecord, Observed
from chaos.scenario import FaultEvent, FaultKind, Role, Target
from testing.evidence import Answer, CheckoutRecord, OrderState, Restock, StatusSample, StockRead
from testing.orders import OrderKind


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def write_history(observed: Observed, path: Path) -> None:
    path.write_text(json.dumps(_plain(observed), indent=1))


def read_history(path: Path) -> Observed:
    """The record written by write_history, back as data (to check it again, e.g. with a longer budget)."""
    raw = json.loads(path.read_text())
    checkouts = tuple(
        CheckoutRecord(
            c["sequence"],
            OrderKind(c["kind"]),
            tuple((b, q) for b, q in c["items"]),
            c["sent_at_s"],
            c["answered_at_s"],
            Answer(c["answer"]),
            c["order_id"],
            c["http_status"],
            c["attempts"],
            c["detail"],
            tuple(c["replayed_ids"]),
            c.get("error_code", ""),
            refused=tuple(c.get("refused", ())),
        )
        for c in raw["checkouts"]
    )
    states = {k: tuple(OrderState(**s) for s in v) for k, v in raw["order_states"].items()}
    faults = tuple(
        FaultRecord(
            FaultEvent(
                f["event"]["at_s"],
                FaultKind(f["event"]["kind"]),
                Target(f["event"]["target"]["service"], Role(f["event"]["target"]["role"])),
                f["event"]["hold_s"],
            ),
            f["node"],
            f["started_at_s"],
            f["healed_at_s"],
            f["error"],
        )
        for f in raw["faults"]
    )
    return Observed(
        checkouts,
        states,
        tuple(StockRead(**r) for r in raw["stock_reads"]),
        tuple(Restock(**r) for r in raw["restocks"]),
        tuple(StatusSample(**s) for s in raw["status_samples"]),
        faults,
        raw["skipped_ticks"],
        raw["load_s"],
        raw["load_sequence_max"],
    )
