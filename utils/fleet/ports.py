"""Which ports a fleet process will bind, and who holds one that is busy.

Checked before anything starts, so a busy port is reported by number and holder instead of as a dead service.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import psutil

from utils.fleet.spec import Probe, ProcessSpec

METRICS_OFFSET = 1000  # METRICS_PORT=0: the gRPC port + 1000 (utils/settings.py)
HEALTH_OFFSET = 2000  # HEALTH_PORT=0: the gRPC port + 2000, the plaintext health-only port


@dataclass(frozen=True, slots=True)
class BusyPort:
    process: str  # the fleet process that needs it
    host: str
    port: int
    holder: str  # "pid 123 (python -m ...)", or why it could not be named

    def __str__(self) -> str:
        return f"{self.host}:{self.port} (needed by {self.process}) is in use by {self.holder}"


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host or "127.0.0.1", int(port)


def _derived(setting: str | None, port: int, offset: int) -> int | None:
    if setting is None or setting == "":
        return None
    value = int(setting)
    return port + offset if value == 0 else (value if value > 0 else None)


def ports_of(spec: ProcessSpec, env: Mapping[str, str]) -> list[tuple[str, int]]:
    """The (host, port) pairs `spec`'s process will listen on, as far as its settings say."""
    merged = {**env, **spec.env}
    host, port = _split(spec.address)
    ports = [(host, port)]
    if spec.probe is Probe.GRPC_HEALTH:
        for setting, offset in (("METRICS_PORT", METRICS_OFFSET), ("HEALTH_PORT", HEALTH_OFFSET)):
            extra = _derived(merged.get(setting, "0"), port, offset)
            if extra is not None:
                ports.append((host, extra))
    elif spec.name == "orchestrator" and merged.get("ORCHESTRATOR_FLOW_ADDR"):
        ports.append(_split(merged["ORCHESTRATOR_FLOW_ADDR"]))
    return ports


def holder_of(port: int) -> str:
    """The process listening on (or bound to) `port`, as "pid N (command line)"."""
    try:
        connections = psutil.net_connections(kind="inet")
    except psutil.AccessDenied:
        return "a process this user may not inspect"
    pids = sorted({c.pid for c in connections if c.laddr and c.laddr.port == port and c.pid is not None})
    if not pids:
        return "a socket of no visible process (another user's, or a client connection)"
    described = []
    for pid in pids:
        try:
            described.append(f"pid {pid} ({' '.join(psutil.Process(pid).cmdline())[:160]})")
        except psutil.Error:
            described.append(f"pid {pid}")
    return ", ".join(described)


def is_free(host: str, port: int) -> bool:
    """Whether a server could bind `port` now. The services bind with SO_REUSEADDR (gRPC and Tornado both do), so
    the check does too: the last run's connections in TIME_WAIT do not hold a port, a listener or a bound socket
    does."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def busy_ports(specs: Iterable[ProcessSpec], env: Mapping[str, str]) -> list[BusyPort]:
    """Every port the fleet needs that something else holds now."""
    return [
        BusyPort(spec.name, host, port, holder_of(port))
        for spec in specs
        for host, port in ports_of(spec, env)
        if not is_free(host, port)
    ]
