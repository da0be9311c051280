"""Faults for the container fleet (`make up`), through the Docker SDK: kill/start, pause/unpause, network
disconnect/connect (the container keeps running, cut off from every peer), a slow participant by CPU throttling
(a container update of its CPU quota), and graceful restarts.

The fleet is the compose project whose orchestrator publishes the API's port; its containers are found by that
project's labels, so no other project's are touched. The tool reaches each replica at its container address on
the fleet network (Linux routes the host to it); addresses are read again after every restart or reconnect, as
Docker may hand out another one.
"""

from __future__ import annotations

import functools
import logging
import os
import subprocess
import time
from urllib.parse import urlsplit

from docker.models.containers import Container

import docker
from chaos.fleets import FleetHandle, wait_api
from utils.fleet.launcher import REPO_ROOT
from utils.settings import parse_peers

log = logging.getLogger("chaos.docker")
DOCKER_TIMEOUT_S = 60
HEALTHY_TIMEOUT_S = 90.0
SLOW_CPUS = 0.05  # a throttled participant: a twentieth of one CPU
CPU_PERIOD_US = 100_000  # the CFS period a CPU quota is a share of (Docker's --cpus uses the same)
PROJECT = "com.docker.compose.project"
SERVICE = "com.docker.compose.service"
SERVICES = {
    "books_database": ["books-1", "books-2", "books-3"],
    "order_executor": ["executor-1", "executor-2", "executor-3"],
    "payment_service": ["payment-service"],
    "order_queue": ["order-queue"],
}


class DockerFleetError(RuntimeError):
    pass


@functools.cache
def engine() -> docker.DockerClient:
    """One SDK client per process; raises docker.errors.DockerException when no engine answers."""
    return docker.from_env(timeout=DOCKER_TIMEOUT_S)


def project_publishing(api: str) -> str:
    """The compose project whose orchestrator container publishes `api`'s port on the host."""
    port = str(urlsplit(api).port or 80)
    for container in engine().containers.list(filters={"label": f"{SERVICE}=orchestrator"}):
        for bindings in (container.attrs["NetworkSettings"].get("Ports") or {}).values():
            if any(b.get("HostPort") == port for b in bindings or ()):
                return str(container.labels[PROJECT])
    raise DockerFleetError(f"no compose orchestrator container publishes port {port}: is the fleet up (make up)?")


def project_container(project: str, service: str) -> Container:
    found = engine().containers.list(all=True, filters={"label": [f"{PROJECT}={project}", f"{SERVICE}={service}"]})
    if not found:
        raise DockerFleetError(f"no container for {service} in project {project}: is the fleet up (make up)?")
    return found[0]


def container_env(container: Container) -> dict[str, str]:
    """The container's environment as the engine started it (docker-compose.yaml's x-addresses among it)."""
    pairs = (item.partition("=") for item in container.attrs["Config"].get("Env") or ())
    return {key: value for key, _, value in pairs}


class DockerFaults:
    def __init__(self, handle: FleetHandle, project: str, peers: dict[str, str]) -> None:
        self.handle = handle
        self.project = project
        self.peers = peers  # container service → its host:port inside the fleet network
        self._containers: dict[str, str] = {}
        self._network = ""
        self._paused: set[str] = set()
        self._killed: set[str] = set()
        self._cut: set[str] = set()
        self._slow: set[str] = set()

    def container(self, service: str) -> Container:
        """The service's container in this project, with its state as the engine reports it now."""
        if service not in self._containers:
            self._containers[service] = str(project_container(self.project, service).id)
        return engine().containers.get(self._containers[service])

    def network(self) -> str:
        if not self._network:
            networks = self.container("books-1").attrs["NetworkSettings"]["Networks"]
            self._network = next(n for n in networks if n.endswith("_fleet") or n == "fleet")
        return self._network

    def refresh_addresses(self) -> None:
        """Each replica's container address on the fleet network, with its port from the compose settings."""
        resolved: dict[str, str] = {}
        for service, address in self.peers.items():
            networks = self.container(service).attrs["NetworkSettings"]["Networks"] or {}
            ip = (networks.get(self.network()) or {}).get("IPAddress")
            if ip:
                resolved[service] = f"{ip}:{address.rpartition(':')[2]}"
        self.handle.database_peers = {s: resolved[s] for s in SERVICES["books_database"] if s in resolved}
        self.handle.executor_peers = {s: resolved[s] for s in SERVICES["order_executor"] if s in resolved}
        if "payment-service" in resolved:
            self.handle.payment_addr = resolved["payment-service"]

    def health(self, service: str) -> str:
        return str((self.container(service).attrs["State"].get("Health") or {}).get("Status", ""))

    def wait_healthy(self, service: str) -> None:
        deadline = time.monotonic() + HEALTHY_TIMEOUT_S
        while self.health(service) != "healthy":
            if time.monotonic() > deadline:
                raise TimeoutError(f"{service} not healthy within {HEALTHY_TIMEOUT_S:.0f} s")
            time.sleep(0.5)

    def kill(self, node: str) -> None:
        self.container(node).kill()
        self._killed.add(node)

    def restart(self, node: str) -> None:
        self.container(node).start()
        self._killed.discard(node)
        self.wait_healthy(node)
        self.refresh_addresses()

    def pause(self, node: str) -> None:
        self.container(node).pause()
        self._paused.add(node)

    def resume(self, node: str) -> None:
        self.container(node).unpause()
        self._paused.discard(node)

    def cannot_isolate(self) -> str | None:
        return None

    def isolate(self, node: str) -> None:
        engine().networks.get(self.network()).disconnect(self.container(node))
        self._cut.add(node)

    def reconnect(self, node: str) -> None:
        # The alias keeps the service's DNS name (books-1) pointing at the container once it is back.
        engine().networks.get(self.network()).connect(self.container(node), aliases=[node])
        self._cut.discard(node)
        self.refresh_addresses()

    def set_slow(self, node: str, delay_ms: int) -> None:
        cpus = SLOW_CPUS if delay_ms else float(os.cpu_count() or 1)
        self.container(node).update(cpu_period=CPU_PERIOD_US, cpu_quota=int(cpus * CPU_PERIOD_US))
        (self._slow.add if delay_ms else self._slow.discard)(node)

    def graceful_restart(self, node: str) -> None:
        self.container(node).restart(timeout=10)
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
    """The compose fleet publishing `api`, started with docker/up.sh (its own start script) when none answers."""
    try:
        wait_api(api, timeout_s=2.0)
    except TimeoutError:
        print("no fleet answers: starting it with docker/up.sh", flush=True)
        subprocess.run([str(REPO_ROOT / "docker" / "up.sh")], cwd=REPO_ROOT, check=True)
    project = project_publishing(api)
    env = container_env(project_container(project, "orchestrator"))
    peers = {
        **parse_peers(env["BOOKS_DATABASE_PEERS"]),
        **parse_peers(env["ORDER_EXECUTOR_PEERS"]),
        "payment-service": env["PAYMENT_SERVICE_ADDR"],
    }
    handle = FleetHandle("docker", api.rstrip("/"), {}, {}, "", {k: list(v) for k, v in SERVICES.items()}, None)
    faults = DockerFaults(handle, project, peers)
    faults.refresh_addresses()
    handle.injector = faults
    return handle
