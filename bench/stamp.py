"""The stamp a benchmark prints beside its figures: the commit (and whether the tree had edits), the machine's
cores and its load average, so a table in docs/capacity.md can say what it was measured on.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GIT_TIMEOUT_S = 5.0


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


def stamp() -> str:
    commit = _git("rev-parse", "--short", "HEAD") or "unknown commit"
    edited = len([line for line in _git("status", "--porcelain", "--untracked-files=no").splitlines() if line])
    one, five, fifteen = os.getloadavg()
    tree = f", {edited} files edited in the tree" if edited else ""
    return f"commit {commit}{tree}; {os.cpu_count()} cores; load average {one:.2f} {five:.2f} {fifteen:.2f}"
