"""`python -m utils.fleet run`: starts the whole local fleet on 127.0.0.1 until Ctrl-C.

Ports come from variables.env (or the environment); data and logs go under ./data and ./logs.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from utils.fleet.launcher import REPO_ROOT, Fleet
from utils.fleet.spec import fleet_processes
from utils.settings import FleetSettings


def load_env_file(path: Path) -> dict[str, str]:
    """Reads KEY=VALUE lines; the process environment wins over the file."""
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip('"')
    return {k: v for k, v in values.items() if k not in os.environ}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m utils.fleet", description=__doc__)
    parser.add_argument("command", choices=["run"])
    parser.add_argument("--data", type=Path, default=REPO_ROOT / "data")
    parser.add_argument("--logs", type=Path, default=REPO_ROOT / "logs")
    parser.add_argument("--env-file", type=Path, default=REPO_ROOT / "variables.env")
    args = parser.parse_args()

    env = load_env_file(args.env_file)
    os.environ.update({k: v for k, v in env.items() if k not in os.environ})
    fleet = Fleet(fleet_processes(FleetSettings()), data_dir=args.data, log_dir=args.logs, env=env)
    print(f"starting {len(fleet.specs)} processes; logs in {args.logs}/, data in {args.data}/", flush=True)
    fleet.start_all()
    try:
        fleet.wait_healthy(timeout_s=60)
        settings = FleetSettings()
        print(
            f"fleet healthy: storefront http://127.0.0.1:{settings.frontend_port}  "
            f"API http://127.0.0.1:{settings.orchestrator_port}  (Ctrl-C stops it)",
            flush=True,
        )
        while True:
            gone = fleet.exited()
            if gone:
                print(f"exited: {gone} — see {args.logs}/", file=sys.stderr, flush=True)
            time.sleep(1.0 if not gone else 5.0)
    except KeyboardInterrupt:
        pass
    except (TimeoutError, RuntimeError) as error:
        print(f"fleet failed to start: {error}", file=sys.stderr)
        fleet.stop_all()
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("stopping the fleet", flush=True)
        fleet.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
