"""The local fleet's PKI, made on its first start: the CA in `<data>/ca` (0700, its key stays there) and every
process's certificate in TLS_DIR (default `<data>/tls`), issued only when missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from utils.tls.pki import issue

OPERATOR = "operator"  # the identity of operator commands, the chaos tool and the benchmarks
CA_FOLDER = "ca"
TLS_FOLDER = "tls"


def ensure_fleet_pki(data_dir: Path, identities: Iterable[str], tls_dir: Path | None = None) -> Path:
    """Issues what is missing for `identities` plus the operator; returns TLS_DIR."""
    out = tls_dir or data_dir / TLS_FOLDER
    issue(data_dir / CA_FOLDER, out, sorted({*identities, OPERATOR}))
    return out
