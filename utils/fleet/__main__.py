"""`python -m utils.fleet run`: starts the whole local fleet on 127.0.0.1 until Ctrl-C, SIGTERM or SIGHUP.

Ports come from variables.env (or the environment); data and logs go under ./data and ./logs. One fleet per data
folder: a second launcher beside a running one says so and exits.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import IO

from utils.datafiles import PROCESS_UMASK
from utils.fleet.fault_server import TOKEN_ENV, URL_ENV, FaultServer
from utils.fleet.faults import FleetFaults
from utils.fleet.launcher import REPO_ROOT, Fleet
from utils.fleet.ports import busy_ports
from utils.fleet.spec import fleet_processes
from utils.settings import FleetSettings

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # Ctrl-C, `kill`, a closed terminal
LOCK_NAME = ".fleet.lock"


class StopRequested(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise StopRequested(signum)


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


def hold_fleet_lock(data_dir: Path) -> IO[str] | None:
    """The data folder's lock, held until this process ends (the kernel drops it even after SIGKILL);
    None when another launcher holds it."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(data_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    lock = os.fdopen(descriptor, "r+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        return None
    lock.seek(0)
    lock.truncate()
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return lock


def _holder_pid(data_dir: Path) -> str:
    try:
        return (data_dir / LOCK_NAME).read_text().strip() or "?"
    except OSError:
        return "?"


def serve_faults(fleet: Fleet) -> FaultServer:
    """The fault control on loopback, its address and token handed to the gateway alone (docs/watching.md)."""
    replicas = [s.name for s in fleet.specs if s.module in ("order_executor", "books_database")]
    faults = FleetFaults(fleet, replicas)
    server = FaultServer(faults)
    server.start()
    fleet.on_start = faults.adopt
    for spec in fleet.specs:
        if spec.module == "orchestrator":
            spec.env.update({URL_ENV: server.url, TOKEN_ENV: server.token})
    cut = "" if faults.cut_problem is None else f" (no cut-off: {faults.cut_problem})"
    print(f"faults at a click are on for {', '.join(replicas)}{cut}", flush=True)
    return server


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m utils.fleet", description=__doc__)
    parser.add_argument("command", choices=["run"])
    parser.add_argument("--data", type=Path, default=REPO_ROOT / "data")
    parser.add_argument("--logs", type=Path, default=REPO_ROOT / "logs")
    parser.add_argument("--env-file", type=Path, default=REPO_ROOT / "variables.env")
    parser.add_argument(
        "--only", default="", help="comma-separated process names (e.g. books-1,books-2,books-3): start just those"
    )
    parser.add_argument(
        "--allow-faults",
        action="store_true",
        help="let the Cluster tab kill, pause, cut off and restart Raft replicas (docs/watching.md); loopback only",
    )
    args = parser.parse_args()

    for signum in STOP_SIGNALS:
        signal.signal(signum, _raise_stop)
    os.umask(PROCESS_UMASK)  # the data and log folders, the certificates, the lock: the owner's only
    lock = hold_fleet_lock(args.data)
    if lock is None:
        print(
            f"a fleet is already running with data in {args.data}/ (launcher pid {_holder_pid(args.data)}); "
            "stop it first (Ctrl-C in its terminal), or give this one other ports and --data/--logs",
            file=sys.stderr,
        )
        return 1

    env = load_env_file(args.env_file)
    os.environ.update({k: v for k, v in env.items() if k not in os.environ})
    specs = fleet_processes(FleetSettings())
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    unknown = only - {spec.name for spec in specs}
    if unknown:
        print(f"--only: no process named {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    fleet = Fleet([s for s in specs if not only or s.name in only], data_dir=args.data, log_dir=args.logs, env=env)
    busy = busy_ports(fleet.specs, {**os.environ, **env})
    if busy:
        for port in busy:
            print(f"cannot start: {port}", file=sys.stderr)
        print("free those ports, or move the fleet's ports in variables.env / the environment", file=sys.stderr)
        return 1
    faults = serve_faults(fleet) if args.allow_faults else None

    print(f"starting {len(fleet.specs)} processes; logs in {args.logs}/, data in {args.data}/", flush=True)
    status = 0
    try:
        fleet.start_all()
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
    except StopRequested as stop:
        print(f"{stop} received", flush=True)
    except (TimeoutError, RuntimeError) as error:
        print(f"fleet failed to start: {error}", file=sys.stderr)
        status = 1
    finally:
        for signum in STOP_SIGNALS:  # a second Ctrl-C must not cut the stop short and orphan a child
            signal.signal(signum, signal.SIG_IGN)
        print("stopping the fleet", flush=True)
        if faults is not None:
            faults.close()  # a paused replica resumed and every cut-off rule removed before the stop
        fleet.stop_all()
        if faults is not None:
            faults.faults.remove_cgroups()
        lock.close()
    return status


if __name__ == "__main__":
    sys.exit(main())
