"""Refreshes docs/screenshots/*.png: runs the browser tests, which save a picture of each screen they reach.

Usage: `.venv/bin/python scripts/screenshots.py` (needs /usr/bin/chromium; starts the local fleet on free ports).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS_DIR = REPO_ROOT / "docs" / "screenshots"


def main() -> int:
    SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SCREENSHOTS_DIR": str(SCREENSHOTS_DIR)}
    command = [sys.executable, "-m", "pytest", "tests/browser", "-q", "-m", "browser", *sys.argv[1:]]
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, check=False)
    saved = sorted(p.name for p in SCREENSHOTS_DIR.glob("*.png"))
    print(f"{len(saved)} screenshots in {SCREENSHOTS_DIR.relative_to(REPO_ROOT)}/: {', '.join(saved)}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
