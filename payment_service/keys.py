"""The card-fingerprint key: a setting, or its own 0600 file beside the ledger, never inside the ledger itself.

An older ledger that still holds the key has it moved out on first start (docs/operations.md).
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from payment_service.store import LedgerStore
from utils.datafiles import write_secret

log = logging.getLogger(__name__)
KEY_NAME = "card_fingerprint_key"  # its name in an older ledger's meta table
KEY_FILE = "fingerprint.key"


def load_fingerprint_key(folder: Path, store: LedgerStore, setting: str = "") -> bytes:
    """The key from the setting if given, else from `folder`/fingerprint.key (made, or moved out of an older
    ledger, on first start). The key file is written before the ledger's copy is dropped, so a crash between the
    two loses nothing."""
    path = folder / KEY_FILE
    if setting:
        key = setting
    elif path.exists():
        key = path.read_text().strip()
    else:
        legacy = store.legacy_secret(KEY_NAME)
        key = legacy or secrets.token_hex(32)
        write_secret(path, key.encode())
        log.info("fingerprint key written to its own file", extra={"moved_from_ledger": legacy is not None})
    if store.drop_legacy_secret(KEY_NAME):
        log.warning("the fingerprint key was removed from the ledger file")
    if not key:
        raise SystemExit(f"the fingerprint key in {path} is empty")
    # The key's text is the HMAC key, as it always was: fingerprints made before the move stay the same.
    return key.encode()
