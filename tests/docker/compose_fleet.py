"""The compose fleet under test, scoped to one compose project: bring it up and down (docker/up.sh, down.sh),
find a service's container, and hurt it through the Docker SDK (kill / start / pause / unpause / network
disconnect / connect / restart).

Every container is found by this project's compose labels, so nothing here can touch another project's
containers. The engine is reached through the Docker SDK; only the compose scripts run as commands.
"""

from __future__ import annotations

import functools
import os
import re
import secrets
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import requests
from docker.errors import APIError, ContainerError, DockerException
from docker.models.containers import Container

import docker
from testing.fleet_env import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE = str(REPO_ROOT / "docker" / "compose.sh")
PROJECT_LABEL = "com.docker.compose.project"
PROJECT_PREFIX = "bookstore-test-"  # + the pytest process id: parallel runs never share a fleet
DOCKER_TIMEOUT_S = 120.0
HEALTHY_TIMEOUT_S = 150.0
HTTP_TIMEOUT_S = 10.0
POLL_S = 0.5
PAUSE_ATTEMPTS = 3
SERVICES = (
    "books-1",
    "books-2",
    "books-3",
    "payment-service",
    "order-queue",
    "transaction-verification",
    "fraud-detection",
    "suggestions",
    "executor-1",
    "executor-2",
    "executor-3",
    "orchestrator",
    "frontend",
)


class DockerError(RuntimeError):
    pass


@functools.cache
def engine() -> docker.DockerClient:
    """One SDK client per process (it pools its connections to the engine); raises DockerException when none answers."""
    client = docker.from_env(timeout=int(DOCKER_TIMEOUT_S))
    client.ping()
    return client


def exec_in(container: Container, command: list[str]) -> str:
    """Runs `command` in a running container; its stdout, or DockerError with its stderr when it fails."""
    result = container.exec_run(command, demux=True)
    code = result.exit_code
    out, err = cast("tuple[bytes | None, bytes | None]", result.output)  # demux: (stdout, stderr)
    if code != 0:
        detail = (err or out or b"").decode(errors="replace").strip()[-2000:]
        raise DockerError(f"{' '.join(command)[:80]}… in {container.name} exited {code}: {detail}")
    return (out or b"").decode().strip()


def container_env(container: Container) -> dict[str, str]:
    """The environment the engine started the container with (the fleet's addresses among it)."""
    pairs = (item.partition("=") for item in container.attrs["Config"].get("Env") or ())
    return {key: value for key, _, value in pairs}


def operator_python(
    beside: Container, network: str, tls_mount: dict[str, dict[str, str]], script: str, *args: str, user: str = ""
) -> str:
    """Runs `script` in a one-off container of `beside`'s image and environment on the fleet's `network`, as the
    operator: `tls_mount` puts the operator's certificate at /tls (read-only), and nothing else of the fleet's;
    `user` (uid:gid) is who may read it, when not the image's user. Its stdout; DockerError with its stderr."""
    env = {**container_env(beside), "TLS_DIR": "/tls", "TLS_IDENTITY": "operator", "NODE_ID": ""}
    try:
        out = engine().containers.run(
            str(beside.attrs["Image"]),
            ["python", "-c", script, *args],
            environment=env,
            network=network,
            volumes=tls_mount,
            user=user or str(beside.attrs["Config"].get("User") or ""),
            remove=True,
            stdout=True,
            stderr=False,
        )
    except ContainerError as error:
        raise DockerError(f"the operator's python exited {error.exit_status}: {str(error.stderr)[-2000:]}") from error
    return out.decode().strip()


def run(
    command: list[str],
    env: Mapping[str, str] | None = None,
    timeout_s: float = DOCKER_TIMEOUT_S,
) -> str:
    """Runs one of the fleet's own scripts (docker/up.sh, down.sh, compose.sh, build-*.sh); its stdout."""
    done = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env=dict(env) if env is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    if done.returncode != 0:
        raise DockerError(
            f"{' '.join(command[:6])}… exited {done.returncode}: {(done.stderr.strip() or done.stdout.strip())[-2000:]}"
        )
    return done.stdout.strip()


def engine_answers() -> str | None:
    """None when a Docker engine and a compose client answer; otherwise why not."""
    try:
        engine()
    except DockerException as error:
        return f"no Docker engine answers ({error})"
    try:
        run([COMPOSE, "version"], timeout_s=20.0)
    except (OSError, subprocess.TimeoutExpired, DockerError) as error:
        return f"no docker compose client ({error})"
    return None


def stale_projects() -> set[str]:
    """This suite's projects whose pytest process is gone (killed before its teardown ran)."""
    client = engine()
    has_project: dict[str, str | list[str] | bool] = {"label": PROJECT_LABEL}
    labels = [c.labels for c in client.containers.list(all=True, filters=has_project)]
    labels += [v.attrs.get("Labels") or {} for v in client.volumes.list(filters=has_project)]
    labels += [n.attrs.get("Labels") or {} for n in client.networks.list(filters=has_project)]
    names = {
        str(found[PROJECT_LABEL]) for found in labels if str(found.get(PROJECT_LABEL, "")).startswith(PROJECT_PREFIX)
    }
    return left_by_dead_runs(names, PROJECT_PREFIX)


def left_by_dead_runs(names: set[str], prefix: str) -> set[str]:
    """The names `<prefix><pid>` whose pytest process is gone."""
    stale = set()
    for name in names:
        match = re.fullmatch(re.escape(prefix) + r"(\d+)", name)
        if match and not _alive(int(match.group(1))):
            stale.add(name)
    return stale


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class ComposeFleet:
    project: str
    api_port: int
    frontend_port: int
    prometheus_port: int = 0
    operator_token: str = field(default_factory=lambda: secrets.token_hex(16))  # the gateway's, for stock writes
    _containers: dict[str, str] = field(default_factory=dict)
    _network: str = ""
    _signal_stopped: set[str] = field(default_factory=set)

    @classmethod
    def for_this_run(cls) -> ComposeFleet:
        return cls(f"{PROJECT_PREFIX}{os.getpid()}", free_port(), free_port(), free_port())

    # ---- the project ---------------------------------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "BOOKSTORE_"))}
        return {
            **env,
            "COMPOSE_PROJECT_NAME": self.project,
            "BOOKSTORE_API_PORT": str(self.api_port),
            "BOOKSTORE_FRONTEND_PORT": str(self.frontend_port),
            "BOOKSTORE_PROMETHEUS_PORT": str(self.prometheus_port),
            "BOOKSTORE_OPERATOR_TOKEN": self.operator_token,
            "BOOKSTORE_HEALTHY_TIMEOUT_S": "240",
        }

    @property
    def prometheus(self) -> str:
        return f"http://127.0.0.1:{self.prometheus_port}"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def storefront(self) -> str:
        return f"http://127.0.0.1:{self.frontend_port}"

    def compose(self, *args: str, timeout_s: float = DOCKER_TIMEOUT_S) -> str:
        return run([COMPOSE, *args], env=self.env, timeout_s=timeout_s)

    def up(self, timeout_s: float) -> str:
        """docker/up.sh (what `make up` runs): base image, wheelhouse, image build, start, wait healthy."""
        return run([str(REPO_ROOT / "docker" / "up.sh")], env=self.env, timeout_s=timeout_s)

    def down(self) -> None:
        """Containers (the optional profiles' too), network and named volumes of this project only."""
        run([str(REPO_ROOT / "docker" / "down.sh"), "--volumes", "--timeout", "5"], env=self.env, timeout_s=240.0)

    def logs(self) -> str:
        """Every service's container log, timestamped, one service after another."""
        parts = []
        for service in SERVICES:
            try:
                text = self.container(service).logs(timestamps=True).decode(errors="replace")
            except (DockerError, DockerException) as error:
                text = f"(no log: {error})\n"
            parts.append("".join(f"{service} | {line}\n" for line in text.splitlines()))
        return "".join(parts)

    # ---- containers ----------------------------------------------------------------------------

    def container(self, service: str) -> Container:
        """The service's container, with its state as the engine reports it now."""
        if service not in self._containers:
            labels = [f"{PROJECT_LABEL}={self.project}", f"com.docker.compose.service={service}"]
            found = engine().containers.list(all=True, filters={"label": labels})
            if not found:
                raise DockerError(f"no container for {service} in project {self.project}")
            self._containers[service] = str(found[0].id)
        return engine().containers.get(self._containers[service])

    def inspect(self, service: str) -> dict[str, Any]:
        return dict(self.container(service).attrs)

    def state(self, service: str) -> str:
        """running | exited | paused | …, and the health when it has one: "running healthy"."""
        state = self.inspect(service)["State"]
        health = (state.get("Health") or {}).get("Status", "")
        return f"{state['Status']} {health}".strip()

    def restart_count(self, service: str) -> int:
        return int(self.inspect(service)["RestartCount"])

    def network(self) -> str:
        if not self._network:
            networks = self.inspect("orchestrator")["NetworkSettings"]["Networks"]
            self._network = next(n for n in networks if n.endswith("_fleet"))
        return self._network

    def wait_healthy(
        self, services: Iterator[str] | tuple[str, ...] = SERVICES, timeout_s: float = HEALTHY_TIMEOUT_S
    ) -> float:
        """Waits until each service's container reports healthy; returns the seconds it took."""
        started = time.monotonic()
        pending = list(services)
        while pending:
            pending = [s for s in pending if self.state(s) != "running healthy"]
            if not pending:
                break
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(
                    f"not healthy after {timeout_s:.0f} s: " + ", ".join(f"{s} ({self.state(s)})" for s in pending)
                )
            time.sleep(POLL_S)
        return time.monotonic() - started

    # ---- faults --------------------------------------------------------------------------------

    def kill(self, service: str) -> None:
        self.container(service).kill()

    def start(self, service: str) -> None:
        self.container(service).start()

    def pause(self, service: str) -> str:
        """docker pause; where the engine cannot freeze the container's cgroup (seen on fuse-overlayfs under
        load), SIGSTOP to every process of the container but its init instead: the same fault for the service.
        Returns which was used."""
        for _attempt in range(PAUSE_ATTEMPTS):
            try:
                self.container(service).pause()
                return "docker pause"
            except APIError as error:
                if "freeze" not in str(error):
                    raise
                why = str(error.explanation or error).rpartition(": ")[2] or "cannot freeze"
                time.sleep(POLL_S)
        # kill(-1): every process the caller may signal but the namespace's init and itself.
        exec_in(self.container(service), ["bash", "-c", "kill -STOP -1"])
        self._signal_stopped.add(service)
        return f"SIGSTOP (docker pause failed {PAUSE_ATTEMPTS} times: {why})"

    def unpause(self, service: str) -> None:
        if service in self._signal_stopped:
            exec_in(self.container(service), ["bash", "-c", "kill -CONT -1"])
            self._signal_stopped.discard(service)
        else:
            self.container(service).unpause()

    def disconnect(self, service: str) -> None:
        engine().networks.get(self.network()).disconnect(self.container(service))

    def connect(self, service: str) -> None:
        # The alias gives the service's DNS name (books-1) back to the container on the fleet network.
        engine().networks.get(self.network()).connect(self.container(service), aliases=[service])

    def restart(self, service: str) -> None:
        self.container(service).restart(timeout=10)

    # ---- the fleet's HTTP API and the participants --------------------------------------------

    def cluster(self) -> dict[str, Any]:
        reply = requests.get(f"{self.api}/cluster", timeout=HTTP_TIMEOUT_S)
        reply.raise_for_status()
        return dict(reply.json())

    def leader(self, group: str, timeout_s: float = 60.0, not_in: tuple[str, ...] = ()) -> str:
        """The replica id (= compose service) leading `group` now, once one that is not in `not_in` leads."""
        deadline = time.monotonic() + timeout_s
        last: Any = None
        while time.monotonic() < deadline:
            try:
                last = self.cluster()["groups"][group]
                if last["leaderId"] and last["leaderId"] not in not_in:
                    return str(last["leaderId"])
            except (requests.RequestException, KeyError, ValueError) as error:
                last = error
            time.sleep(POLL_S)
        raise TimeoutError(f"no leader of {group} (other than {not_in}) within {timeout_s:.0f} s; last seen {last}")

    def operator_python(self, script: str, *args: str) -> str:
        """Runs `script` as the operator on the fleet's network (a one-off container with the compose pki step's
        operator certificate, tls-operator), so the participants are asked as the services reach them."""
        volume = f"{self.project}_tls-operator"
        return operator_python(
            self.container("orchestrator"), self.network(), {volume: {"bind": "/tls", "mode": "ro"}}, script, *args
        )
