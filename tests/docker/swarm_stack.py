"""The Swarm stack under test (deploy/swarm/stack.yaml): one stack of its own per pytest process
(bookstore-swarm-<pid>) on free host ports, deployed and removed with deploy/swarm/up.sh and down.sh, its
containers found by the stack's and the service's labels and hurt through the Docker SDK.

The engine joins a swarm of its own (one manager on 127.0.0.1) only when it is in none, and leaves it again
at the end; a swarm it was in already is left as it was.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from docker.errors import APIError, NotFound
from docker.models.containers import Container
from docker.models.networks import Network

from testing.fleet_env import free_port
from tests.docker.compose_fleet import REPO_ROOT, DockerError, engine, left_by_dead_runs, operator_python, run

STACK_PREFIX = "bookstore-swarm-"  # + the pytest process id
STACK_LABEL = "com.docker.stack.namespace"
SERVICE_LABEL = "com.docker.swarm.service.name"
GATEWAY_BRIDGE = "docker_gwbridge"  # the bridge Swarm makes for its tasks' way out; it outlives the swarm
DEPLOY_TIMEOUT_S = 240.0
HTTP_TIMEOUT_S = 10.0
POLL_S = 0.5
SWARM_LISTEN = "127.0.0.1:2377"


def swarm_unusable() -> str | None:
    """Why no stack can be deployed from this engine (a swarm worker, a swarm in error), or None."""
    state = engine().info()["Swarm"]
    if state["LocalNodeState"] == "active" and not state.get("ControlAvailable"):
        return "this engine is a swarm worker: stacks deploy from a manager"
    if state["LocalNodeState"] not in ("active", "inactive"):
        return f"this engine's swarm is {state['LocalNodeState']}: {state.get('Error') or 'no detail'}"
    return None


@contextmanager
def swarm_mode() -> Iterator[str]:
    """The engine in swarm mode for the block (a one-manager swarm on 127.0.0.1 made for it, and left after,
    when the engine is in none); yields "created" or "joined already"."""
    client = engine()
    if client.info()["Swarm"]["LocalNodeState"] == "active":
        yield "joined already"
        return
    bridge_before = bool(gateway_bridges())
    client.swarm.init(advertise_addr="127.0.0.1", listen_addr=SWARM_LISTEN)
    try:
        yield "created"
    finally:
        client.swarm.leave(force=True)
        if not bridge_before:
            remove_gateway_bridge()


def gateway_bridges() -> list[Network]:
    return [n for n in engine().networks.list(names=[GATEWAY_BRIDGE]) if n.name == GATEWAY_BRIDGE]  # names: a match


def remove_gateway_bridge(timeout_s: float = 15.0) -> None:
    """The bridge the swarm made, once the engine has taken its own endpoints off it (leaving does that soon after)."""
    deadline = time.monotonic() + timeout_s
    while networks := gateway_bridges():
        try:
            networks[0].remove()
        except APIError as error:
            if time.monotonic() > deadline:  # still in use by a container of someone else's: leave it
                print(f"\nleft {GATEWAY_BRIDGE} in place: {error.explanation}", flush=True)
                return
            time.sleep(POLL_S)


def stale_stacks() -> set[str]:
    """This suite's stacks whose pytest process is gone (killed before its teardown ran)."""
    client = engine()
    in_swarm = client.info()["Swarm"]["LocalNodeState"] == "active"
    found = {str(s.attrs["Spec"]["Labels"].get(STACK_LABEL, "")) for s in client.services.list()} if in_swarm else set()
    found |= {str(v.attrs.get("Labels", {}).get(STACK_LABEL, "")) for v in client.volumes.list()}
    return left_by_dead_runs(found, STACK_PREFIX)


@dataclass
class SwarmStack:
    name: str
    api_port: int
    frontend_port: int
    operator_token: str = field(default_factory=lambda: secrets.token_hex(16))  # the gateway's, for stock writes

    @classmethod
    def for_this_run(cls) -> SwarmStack:
        return cls(f"{STACK_PREFIX}{os.getpid()}", free_port(), free_port())

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKSTORE_")}
        return {
            **env,
            "BOOKSTORE_API_PORT": str(self.api_port),
            "BOOKSTORE_FRONTEND_PORT": str(self.frontend_port),
            "BOOKSTORE_OPERATOR_TOKEN": self.operator_token,
            "BOOKSTORE_SWARM_PKI": str(self.pki),
            "BOOKSTORE_HEALTHY_TIMEOUT_S": str(int(DEPLOY_TIMEOUT_S) - 20),
        }

    @property
    def pki(self) -> Path:
        """up.sh's certificates for this stack (ca/, tls/, operator/); down.sh --volumes removes them."""
        return REPO_ROOT / ".build" / "swarm" / self.name

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def up(self) -> str:
        return run([str(REPO_ROOT / "deploy" / "swarm" / "up.sh"), self.name], env=self.env, timeout_s=DEPLOY_TIMEOUT_S)

    def down(self) -> str:
        """The stack's services, network and named volumes (deploy/swarm/down.sh --volumes)."""
        return run(
            [str(REPO_ROOT / "deploy" / "swarm" / "down.sh"), self.name, "--volumes"], env=self.env, timeout_s=180.0
        )

    # ---- services, tasks, containers ------------------------------------------------------------

    def service_name(self, service: str) -> str:
        return f"{self.name}_{service}"

    def tasks(self, service: str) -> list[dict[str, Any]]:
        """The service's tasks as Swarm records them, newest first (the killed ones stay listed)."""
        found = engine().services.list(filters={"name": self.service_name(service)})
        named = [s for s in found if s.name == self.service_name(service)]  # the filter matches name prefixes
        if not named:
            raise DockerError(f"no service {self.service_name(service)}")
        tasks: list[dict[str, Any]] = named[0].tasks()  # type: ignore[no-untyped-call]  # the stubs leave it untyped
        return sorted(tasks, key=lambda t: str(t["CreatedAt"]), reverse=True)

    def running_container(self, service: str) -> Container:
        """The container of the service's task that runs now."""
        found = engine().containers.list(filters={"label": f"{SERVICE_LABEL}={self.service_name(service)}"})
        if not found:
            raise DockerError(f"no running container of {self.service_name(service)}")
        return found[0]

    def container(self, container_id: str) -> Container:
        return engine().containers.get(container_id)

    def wait_new_task(self, service: str, replaced: str, timeout_s: float) -> Container:
        """The container of a task Swarm started after the one whose container was `replaced`, once it runs and
        its health check passed (Swarm says "running" only then)."""
        deadline = time.monotonic() + timeout_s
        last: Any = None
        while time.monotonic() < deadline:
            tasks = self.tasks(service)
            last = [(t["Status"]["State"], t["Status"].get("Err", "")) for t in tasks]
            for task in tasks:
                container_id = task["Status"].get("ContainerStatus", {}).get("ContainerID", "")
                if task["Status"]["State"] == "running" and container_id and container_id != replaced:
                    try:
                        return self.container(container_id)
                    except NotFound:
                        break
            time.sleep(POLL_S)
        raise TimeoutError(f"no new running task of {service} within {timeout_s:.0f} s; tasks {last}")

    def operator_python(self, script: str, *args: str) -> str:
        """Runs `script` as the operator on the stack's (attachable) network: a one-off container with up.sh's
        operator certificate, so the participants are asked as the services reach them."""
        operator = {str(self.pki / "operator"): {"bind": "/tls", "mode": "ro"}}
        owner = f"{os.getuid()}:{os.getgid()}"  # up.sh issued the certificates as the user who ran it
        orchestrator = self.running_container("orchestrator")
        return operator_python(orchestrator, f"{self.name}_fleet", operator, script, *args, user=owner)

    def logs(self) -> str:
        """Every container of the stack (the killed ones too), timestamped, one after another."""
        parts = []
        for container in engine().containers.list(all=True, filters={"label": f"{STACK_LABEL}={self.name}"}):
            text = container.logs(timestamps=True).decode(errors="replace")
            parts.append("".join(f"{container.name} | {line}\n" for line in text.splitlines()))
        return "".join(parts)

    # ---- the stack's HTTP API ---------------------------------------------------------------------

    def wait_ready(self, timeout_s: float) -> float:
        """Waits until the gateway answers /readyz with 200 (its dependencies serve, each Raft group has a leader):
        Swarm's "running" is liveness only. Returns the seconds it took."""
        started = time.monotonic()
        last: Any = None
        while time.monotonic() - started < timeout_s:
            try:
                reply = requests.get(f"{self.api}/readyz", timeout=HTTP_TIMEOUT_S)
                if reply.status_code == 200:
                    return time.monotonic() - started
                last = f"{reply.status_code} {reply.text[:300]}"
            except requests.RequestException as error:
                last = error
            time.sleep(POLL_S)
        raise TimeoutError(f"the gateway not ready within {timeout_s:.0f} s; last answer {last}")

    def cluster(self) -> dict[str, Any]:
        reply = requests.get(f"{self.api}/cluster", timeout=HTTP_TIMEOUT_S)
        reply.raise_for_status()
        return dict(reply.json())

    def group(
        self,
        group: str,
        timeout_s: float,
        until: Callable[[dict[str, Any]], bool] = lambda view: bool(view["leaderId"]),
    ) -> dict[str, Any]:
        """`group`'s /cluster view once `until(view)` holds (default: it has a leader)."""
        deadline = time.monotonic() + timeout_s
        last: Any = None
        while time.monotonic() < deadline:
            try:
                last = self.cluster()["groups"][group]
                if until(last):
                    return dict(last)
            except (requests.RequestException, KeyError, ValueError) as error:
                last = error
            time.sleep(POLL_S)
        raise TimeoutError(f"{group} not as awaited within {timeout_s:.0f} s; last seen {last}")


def start_log_line(container: Container) -> dict[str, Any]:
    """The container's "raft node started" log record: the term and applied index its replica started from."""
    for line in container.logs().decode(errors="replace").splitlines():
        if '"raft node started"' in line:
            return dict(json.loads(line))
    raise DockerError(f"{container.name} logged no 'raft node started'")
