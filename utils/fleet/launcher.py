"""Starts, watches and stops the local fleet's processes, each with a log file of its own.

Used by `make run` and by the integration tests (on their own ports and data folder).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from utils.fleet.child import LAUNCHER_PID_ENV, LIFELINE_FD_ENV, PDEATHSIG_ENV
from utils.fleet.spec import Probe, ProcessSpec
from utils.rpc.healthcheck import is_serving
from utils.rpc.server import READY
from utils.rpc.trust import HEALTH_PORT_OFFSET
from utils.tls.fleet import ensure_fleet_pki

log = logging.getLogger(__name__)
REPO_ROOT = Path(__file__).resolve().parents[2]
PROBE_TIMEOUT_S = 1.0
STDERR_BYTES_MAX = 1_000_000  # a service's stderr file holds what came before its logging: kept small


class _Lifeline:
    """A pipe whose write end only this process holds: every child watches the read end and dies at its EOF,
    which the kernel delivers when this process ends in any way, SIGKILL included."""

    _lock = threading.Lock()
    _read_fd: int | None = None

    @classmethod
    def read_fd(cls) -> int:
        with cls._lock:
            if cls._read_fd is None:
                read_fd, _write_fd = os.pipe()  # both non-inheritable; the write end is never closed
                cls._read_fd = read_fd
            return cls._read_fd


def _rotate_if_large(path: Path, bytes_max: int) -> None:
    if path.exists() and path.stat().st_size > bytes_max:
        path.replace(path.with_name(path.name + ".1"))


def is_healthy(spec: ProcessSpec) -> bool:
    """One health probe: "ready" on the plaintext health-only port (docs/trust.md), or HTTP /healthz answering 200."""
    if spec.probe is Probe.HTTP:
        return is_serving(f"http://{spec.address}/healthz", PROBE_TIMEOUT_S)
    host, _, port = spec.address.rpartition(":")
    health_port = int(spec.env.get("HEALTH_PORT") or 0) or int(port) + HEALTH_PORT_OFFSET
    return is_serving(f"{host}:{health_port}", PROBE_TIMEOUT_S, READY)


@dataclass
class Fleet:
    """A set of service processes sharing one environment, data folder and log folder."""

    specs: list[ProcessSpec]
    data_dir: Path
    log_dir: Path
    env: dict[str, str] = field(default_factory=dict)  # on top of os.environ: ports, fault settings
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    # Called with a process's name right after it is spawned (the fault control moves it into its cgroup).
    on_start: Callable[[str], None] | None = None

    def spec(self, name: str) -> ProcessSpec:
        for spec in self.specs:
            if spec.name == name:
                return spec
        raise KeyError(f"no process named {name!r} in the fleet")

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def start(self, name: str) -> None:
        spec = self.spec(name)
        running = self.processes.get(name)
        if running is not None and running.poll() is None:
            raise RuntimeError(f"{name} is already running")
        self.log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        lifeline = _Lifeline.read_fd()
        env = {
            **os.environ,
            **self.env,
            **spec.env,
            "DATA_DIR": str(self.data_dir),
            "LOG_FILE": str(self.log_path(name)),
            "PYTHONUNBUFFERED": "1",
            LIFELINE_FD_ENV: str(lifeline),
            LAUNCHER_PID_ENV: str(os.getpid()),
            # The kernel's parent-death signal follows the spawning thread: only the main thread lives as long
            # as this process. Children started from other threads (a test's or the chaos tool's) rely on the
            # lifeline alone.
            PDEATHSIG_ENV: "1" if threading.current_thread() is threading.main_thread() else "0",
        }
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
        # stderr catches what a service prints before its logging is configured (a crash at import, a bind).
        stderr_path = self.log_dir / f"{name}.stderr"
        _rotate_if_large(stderr_path, STDERR_BYTES_MAX)
        with open(os.open(stderr_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab") as stderr:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "utils.fleet.child", spec.module],
                cwd=REPO_ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
                pass_fds=(lifeline,),
            )
        if self.on_start is not None:
            self.on_start(name)

    def start_all(self) -> None:
        # Mutual TLS (docs/trust.md): the CA and a certificate per process, made on first start, kept after.
        tls_dir = self.env.get("TLS_DIR") or os.environ.get("TLS_DIR") or None
        made = ensure_fleet_pki(self.data_dir, [s.name for s in self.specs], Path(tls_dir) if tls_dir else None)
        self.env["TLS_DIR"] = str(made)
        for spec in self.specs:
            self.start(spec.name)

    def wait_healthy(self, names: list[str] | None = None, timeout_s: float = 30.0) -> None:
        pending = list(names or [s.name for s in self.specs])
        deadline = time.monotonic() + timeout_s
        while pending:
            for name in list(pending):
                process = self.processes.get(name)
                if process is not None and process.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with {process.returncode}{self._last_words(name)}; see {self.log_path(name)}"
                    )
                if is_healthy(self.spec(name)):
                    pending.remove(name)
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"not healthy after {timeout_s} s: {', '.join(pending)}")
            if pending:
                time.sleep(0.1)

    def _last_words(self, name: str) -> str:
        """The last line a dead process wrote to stderr (a failed bind, an import error), if any."""
        try:
            with open(self.log_dir / f"{name}.stderr", "rb") as stderr:
                stderr.seek(0, os.SEEK_END)
                stderr.seek(max(0, stderr.tell() - 2000))
                lines = stderr.read().decode(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return f" ({lines[-1][:300]})" if lines else ""

    def signal(self, name: str, sig: signal.Signals) -> None:
        self.processes[name].send_signal(sig)

    def kill(self, name: str) -> None:
        process = self.processes[name]
        process.kill()
        process.wait(timeout=10)

    def stop(self, name: str, timeout_s: float = 10.0) -> None:
        process = self.processes.get(name)
        if process is not None:
            _terminate([process], timeout_s)

    def stop_all(self, timeout_s: float = 10.0) -> None:
        """SIGTERM to every process at once, then wait: one grace period in all, not one per process."""
        _terminate(list(self.processes.values()), timeout_s)

    def exited(self) -> dict[str, int]:
        return {n: p.returncode for n, p in self.processes.items() if p.poll() is not None}


def _terminate(processes: list[subprocess.Popen[bytes]], timeout_s: float) -> None:
    """SIGTERM to each running process, one shared grace period, then SIGKILL to what is left."""
    running = [p for p in processes if p.poll() is None]
    for process in running:
        process.send_signal(signal.SIGCONT)  # a paused process cannot handle SIGTERM
        process.terminate()
    deadline = time.monotonic() + timeout_s
    for process in running:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout_s)
