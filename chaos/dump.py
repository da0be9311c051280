"""The run's raw record as JSON (--history): every checkout, order state, stock read, restock, status sample
and fault, for a post-mortem beyond the report.
"""
from __future__ import annotations

import dataclasses
import json
from enum import Enum
from pathlib import Path
from typing import Any

from chaos.records import Observed


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
