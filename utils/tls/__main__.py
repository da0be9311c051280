"""`python -m utils.tls issue --ca-dir CA_DIR --out OUT_DIR IDENTITY [IDENTITY ...]`: the fleet's certificates.

Idempotent: makes the CA in CA_DIR if missing, copies ca.crt into OUT_DIR and issues the missing leaf certificates.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from utils.tls.pki import issue


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m utils.tls", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    issuing = commands.add_parser("issue", help="make the CA if missing and issue the missing certificates")
    issuing.add_argument("--ca-dir", type=Path, required=True, help="the CA's own folder (its key stays there)")
    issuing.add_argument("--out", type=Path, required=True, help="TLS_DIR: ca.crt, <identity>.crt, <identity>.key")
    issuing.add_argument("identities", nargs="+", metavar="IDENTITY")
    args = parser.parse_args(argv)
    try:
        result = issue(args.ca_dir, args.out, list(args.identities))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    made = ", ".join(result.issued) or "none"
    print(f"CA {'created' if result.ca_created else 'kept'} in {args.ca_dir}; issued into {args.out}: {made}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
