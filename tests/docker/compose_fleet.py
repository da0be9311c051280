"""The compose fleet under test, scoped to one compose project: bring it up and down, find a service's
container, and hurt it (docker kill / start / pause / unpause / network disconnect / connect / restart).

Every docker command names a container of this project (found by its compose labels), so nothing here
can touch another project's containers.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from testing.fleet_env import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE = str(REPO_ROOT / "docker" / "compose.sh")
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


def run(
    command: list[str],
    env: Mapping[str, str] | None = None,
    timeout_s: float = DOCKER_TIMEOUT_S,
    stdin: str | None = None,
) -> str:
    done = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env=dict(env) if env is not None else None,
        input=stdin,
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
        run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout_s=20.0)
    except (OSError, subprocess.TimeoutExpired, DockerError) as error:
        return f"no Docker engine answers ({error})"
    try:
        run([COMPOSE, "version"], timeout_s=20.0)
    except (OSError, subprocess.TimeoutExpired, DockerError) as error:
        return f"no docker compose client ({error})"
    return None


def stale_projects() -> set[str]:
    """This suite's projects whose pytest process is gone (killed before its teardown ran)."""
    names: set[str] = set()
    label = '{{.Label "com.docker.compose.project"}}'
    for kind in (["ps", "-a"], ["volume", "ls"], ["network", "ls"]):
        listed = run(
            ["docker", *kind, "--filter", "label=com.docker.compose.project", "--format", label], timeout_s=30.0
        )
        names |= {n for n in listed.split() if n.startswith(PROJECT_PREFIX)}
    stale = set()
    for name in names:
        match = re.fullmatch(re.escape(PROJECT_PREFIX) + r"(\d+)", name)
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
        return self.compose("logs", "--no-color", "--timestamps", timeout_s=120.0)

    # ---- containers ----------------------------------------------------------------------------

    def container(self, service: str) -> str:
        if service not in self._containers:
            found = run(
                [
                    "docker",
                    "ps",
                    "-aq",
                    "--filter",
                    f"label=com.docker.compose.project={self.project}",
                    "--filter",
                    f"label=com.docker.compose.service={service}",
                ]
            )
            if not found:
                raise DockerError(f"no container for {service} in project {self.project}")
            self._containers[service] = found.split()[0]
        return self._containers[service]

    def inspect(self, service: str) -> dict[str, Any]:
        return dict(json.loads(run(["docker", "inspect", self.container(service)]))[0])

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
        run(["docker", "kill", self.container(service)])

    def start(self, service: str) -> None:
        run(["docker", "start", self.container(service)])

    def pause(self, service: str) -> str:
        """docker pause; where the engine cannot freeze the container's cgroup (seen on fuse-overlayfs under
        load), SIGSTOP to every process of the container but its init instead: the same fault for the service.
        Returns which was used."""
        for _attempt in range(PAUSE_ATTEMPTS):
            try:
                run(["docker", "pause", self.container(service)])
                return "docker pause"
            except DockerError as error:
                if "freeze" not in str(error):
                    raise
                why = str(error).rpartition(": ")[2] or "cannot freeze"
                time.sleep(POLL_S)
        # kill(-1): every process the caller may signal but the namespace's init and itself.
        run(["docker", "exec", self.container(service), "bash", "-c", "kill -STOP -1"])
        self._signal_stopped.add(service)
        return f"SIGSTOP (docker pause failed {PAUSE_ATTEMPTS} times: {why})"

    def unpause(self, service: str) -> None:
        if service in self._signal_stopped:
            run(["docker", "exec", self.container(service), "bash", "-c", "kill -CONT -1"])
            self._signal_stopped.discard(service)
        else:
            run(["docker", "unpause", self.container(service)])

    def disconnect(self, service: str) -> None:
        run(["docker", "network", "disconnect", self.network(), self.container(service)])

    def connect(self, service: str) -> None:
        # The alias gives the service's DNS name (books-1) back to the container on the fleet network.
        run(["docker", "network", "connect", "--alias", service, self.network(), self.container(service)])

    def restart(self, service: str) -> None:
        run(["docker", "restart", "--time", "10", self.container(service)])

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

    def exec_python(self, service: str, script: str, *args: str, timeout_s: float = 120.0) -> str:
        """Runs `script` with the image's Python inside a running container of the fleet (its env has the
        fleet's addresses), so the participants are asked on the fleet's own network, as the services do."""
        return run(
            ["docker", "exec", "-i", self.container(service), "python", "-", *args], stdin=script, timeout_s=timeout_s
        )
