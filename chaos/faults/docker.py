"""Faults for the container fleet (`make up`): docker kill/start, docker pause/unpause, docker network
disconnect/connect (the container keeps running, cut off from every peer), a slow participant by CPU throttling
(docker update --cpus), and graceful restarts (docker restart).

The tool reaches each replica at its container address on the fleet network (Linux routes the host to it);
addresses are read again after every restart or reconnect, as Docker may hand out another one.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import time

from chaos.fleets import FleetHandle, wait_api
from utils.fleet.launcher import REPO_ROOT
from utils.settings import parse_peers

log = logging.getLogger("chaos.docker")
COMPOSE = str(REPO_ROOT / "docker" / "compose.sh")
DOCKER_TIMEOUT_S = 60.0
HEALTHY_TIMEOUT_S = 90.0
SLOW_CPUS = 0.05  # a throttled participant: a twentieth of one CPU
SERVICES = {
    "books_database": ["books-1", "books-2", "books-3"],
    "order_executor": ["executor-1", "executor-2", "executor-3"],
    "payment_service": ["payment-service"],
    "order_queue": ["order-queue"],
}


def _run(command: list[str], timeout_s: float = DOCKER_TIMEOUT_S) -> str:
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip()


def compose_env() -> dict[str, str]:
    """The addresses as compose gives them to the containers (docker-compose.yaml's x-addresses)."""
    config = _run([COMPOSE, "config"])
    env: dict[str, str] = {}
    for line in config.splitlines():
        stripped = line.strip()
        for key in ("BOOKS_DATABASE_PEERS", "ORDER_EXECUTOR_PEERS", "PAYMENT_SERVICE_ADDR"):
            if stripped.startswith(f"{key}:"):
                env[key] = stripped.partition(":")[2].strip().strip("'\"")
    return env


class DockerFaults:
    def __init__(self, handle: FleetHandle, peers: dict[str, str]) -> None:
        self.handle = handle
        self.peers = peers  # container service → its host:port inside the fleet network
        self._containers: dict[str, str] = {}
        self._network = ""
        self._paused: set[str] = set()
        self._killed: set[str] = set()
        self._cut: set[str] = set()
        self._slow: set[str] = set()

    def container(self, service: str) -> str:
        if service not in self._containers:
            found = _run([COMPOSE, "ps", "-q", service])
            if not found:
                raise RuntimeError(f"no container for {service}: is the fleet up (make up)?")
            self._containers[service] = found.splitlines()[0]
        return self._containers[service]

    def network(self) -> str:
        if not self._network:
            networks = json.loads(
                _run(["docker", "inspect", "-f", "{{json .NetworkSettings.Networks}}", self.container("books-1")])
            )
            self._network = next(n for n in networks if n.endswith("_fleet") or n == "fleet")
        return self._network

    def refresh_addresses(self) -> None:
        """Each replica's container address on the fleet network, with its port from the compose settings."""
        resolved: dict[str, str] = {}
        for service, address in self.peers.items():
            networks = json.loads(
                _run(["docker", "inspect", "-f", "{{json .NetworkSettings.Networks}}", self.container(service)])
            )
            ip = (networks.get(self.network()) or {}).get("IPAddress")
            if ip:
                resolved[service] = f"{ip}:{address.rpartition(':')[2]}"
        self.handle.database_peers = {s: resolved[s] for s in SERVICES["books_database"] if s in resolved}
        self.handle.executor_peers = {s: resolved[s] for s in SERVICES["order_executor"] if s in resolved}
        if "payment-service" in resolved:
            self.handle.payment_addr = resolved["payment-service"]

    def wait_healthy(self, service: str) -> None:
        deadline = time.monotonic() + HEALTHY_TIMEOUT_S
        while _run(["docker", "inspect", "-f", "{{.State.Health.Status}}", self.container(service)]) != "healthy":
            if time.monotonic() > deadline:
                raise TimeoutError(f"{service} not healthy within {HEALTHY_TIMEOUT_S:.0f} s")
            time.sleep(0.5)

    def kill(self, node: str) -> None:
        _run(["docker", "kill", self.container(node)])
        self._killed.add(node)

    def restart(self, node: str) -> None:
        _run(["docker", "start", self.container(node)])
        self._killed.discard(node)
        self.wait_healthy(node)
        self.refresh_addresses()

    def pause(self, node: str) -> None:
        _run(["docker", "pause", self.container(node)])
        self._paused.add(node)

    def resume(self, node: str) -> None:
        _run(["docker", "unpause", self.container(node)])
        self._paused.discard(node)

    def cannot_isolate(self) -> str | None:
        return None

    def isolate(self, node: str) -> None:
        _run(["docker", "network", "disconnect", self.network(), self.container(node)])
        self._cut.add(node)

    def reconnect(self, node: str) -> None:
        # The alias keeps the service's DNS name (books-1) pointing at the container once it is back.
        _run(["docker", "network", "connect", "--alias", node, self.network(), self.container(node)])
        self._cut.discard(node)
        self.refresh_addresses()

    def set_slow(self, node: str, delay_ms: int) -> None:
        cpus = SLOW_CPUS if delay_ms else float(os.cpu_count() or 1)
        _run(["docker", "update", "--cpus", str(cpus), self.container(node)])
        (self._slow.add if delay_ms else self._slow.discard)(node)

    def graceful_restart(self, node: str) -> None:
        _run(["docker", "restart", "-t", "10", self.container(node)])
        self.wait_healthy(node)
        self.refresh_addresses()

    def heal_all(self) -> None:
        for node in sorted(self._paused):
            self.resume(node)
        for node in sorted(self._cut):
            self.reconnect(node)
        for node in sorted(self._slow):
            self.set_slow(node, 0)
        for node in sorted(self._killed):
            self.restart(node)


def open_docker_fleet(api: str) -> FleetHandle:
    """The compose fleet, started with docker/up.sh when no orchestrator answers at `api`."""
    try:
        wait_api(api, timeout_s=2.0)
    except TimeoutError:
        print("no fleet answers: starting it with docker/up.sh", flush=True)
        subprocess.run([str(REPO_ROOT / "docker" / "up.sh")], cwd=REPO_ROOT, check=True)
    env = compose_env()
    peers = {
        **parse_peers(env["BOOKS_DATABASE_PEERS"]),
        **parse_peers(env["ORDER_EXECUTOR_PEERS"]),
        "payment-service": env["PAYMENT_SERVICE_ADDR"],
    }
    handle = FleetHandle("docker", api.rstrip("/"), {}, {}, "", {k: list(v) for k, v in SERVICES.items()}, None)
    faults = DockerFaults(handle, peers)
    faults.refresh_addresses()
    handle.injector = faults
    return handle
