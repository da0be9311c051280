"""docker-compose.yaml is hardened as the Kubernetes manifests are (deploy/k8s/base), read statically, no engine:
every service has a read-only root filesystem with /tmp in memory, drops every capability, cannot gain privileges,
and has CPU and memory limits, those of its Kubernetes container where it has one; and, on the running compose
fleet, the engine applied each."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.docker.compose_fleet import SERVICES as SERVICES_RUN
from tests.docker.compose_fleet import ComposeFleet

ROOT = Path(__file__).resolve().parents[2]
# A third-party all-in-one image (profile lgtm, never run by the tests) that writes under its own tree as root.
WRITABLE_ROOT = {"otel-lgtm"}
# The one-shot certificate step runs as root to own fresh volumes: it keeps what chown-ing them needs, no more.
CAPABILITIES_KEPT = {"pki": {"CHOWN", "DAC_OVERRIDE", "FOWNER"}}
# The compose service → the Kubernetes workload whose service container it is.
KUBERNETES_NAME = {"books-1": "books", "books-2": "books", "books-3": "books", "executor-1": "executor"}
KUBERNETES_NAME |= {"executor-2": "executor", "executor-3": "executor"}
UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "ki": 2**10, "mi": 2**20, "gi": 2**30}


@functools.cache
def _services() -> dict[str, dict[str, Any]]:
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    services: dict[str, dict[str, Any]] = compose["services"]
    return services


def _bytes(size: str) -> int:
    found = re.fullmatch(r"(\d+)([kmg]i?)?b?", str(size).lower())
    assert found, f"not a size: {size!r}"
    return int(found.group(1)) * UNITS[found.group(2) or ""]


def _cpus(cpu: str | float) -> float:
    text = str(cpu)
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)


@functools.cache
def _kubernetes_limits() -> dict[str, dict[str, Any]]:
    """Each workload's service container's limits (its first container; init containers are not it)."""
    limits = {}
    for path in sorted((ROOT / "deploy" / "k8s" / "base").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if isinstance(document, dict) and document.get("kind") in ("Deployment", "StatefulSet"):
                container = document["spec"]["template"]["spec"]["containers"][0]
                limits[document["metadata"]["name"]] = container["resources"]["limits"]
    return limits


SERVICES = sorted(_services())


def test_every_service_is_checked() -> None:
    assert {"pki", "books-1", "executor-3", "orchestrator", "frontend", "prometheus", "otel-lgtm"} <= set(SERVICES)


@pytest.mark.parametrize("name", SERVICES)
def test_the_root_filesystem_is_read_only_with_tmp_in_memory(name: str) -> None:
    service = _services()[name]
    if name in WRITABLE_ROOT:
        return
    assert service.get("read_only") is True, f"{name}: read_only: true"
    assert any(str(mount).split(":")[0] == "/tmp" for mount in service.get("tmpfs", [])), f"{name}: tmpfs /tmp"


@pytest.mark.parametrize("name", SERVICES)
def test_no_capability_and_no_new_privileges(name: str) -> None:
    service = _services()[name]
    assert "no-new-privileges:true" in service.get("security_opt", []), f"{name}: no-new-privileges"
    if name in WRITABLE_ROOT:
        return
    assert service.get("cap_drop") == ["ALL"], f"{name}: cap_drop: [ALL]"
    assert set(service.get("cap_add", [])) <= CAPABILITIES_KEPT.get(name, set()), f"{name}: cap_add beyond its need"
    assert not service.get("privileged"), f"{name}: privileged"


def test_the_certificate_step_changes_only_its_volumes() -> None:
    """Its root is read-only too: a chown of /tls itself (the volumes' mount point) fails the step, and the fleet."""
    pki = _services()["pki"]
    mounts = [str(volume).split(":")[1] for volume in pki["volumes"]]
    targets = re.findall(r"chown\s+(?:-\S+\s+)*\S+\s+(\S+)", " ".join(pki["command"]))
    assert targets, "the step hands its certificates over with chown"
    for target in targets:
        inside = any(target == m or target.startswith(m + "/") for m in mounts)
        each_mount = target.endswith("/*") and any(m.startswith(target[:-1]) for m in mounts)  # /tls/*: the volumes
        assert inside or each_mount, f"chown {target}: not a volume"


@pytest.mark.parametrize("name", SERVICES)
def test_cpu_and_memory_are_bounded_as_on_kubernetes(name: str) -> None:
    service = _services()[name]
    assert "deploy" not in service, f"{name}: deploy.resources is not what docker-compose 1.29 applies"
    assert 0 < float(service["cpus"]) <= 2, f"{name}: cpus"
    memory = _bytes(service["mem_limit"])
    assert 0 < memory <= 2**30, f"{name}: mem_limit"
    kubernetes = _kubernetes_limits().get(KUBERNETES_NAME.get(name, name))
    if kubernetes is not None:  # the one-shot and profile-only services have no workload there
        assert float(service["cpus"]) == _cpus(kubernetes["cpu"]), f"{name}: cpus as on Kubernetes"
        assert memory == _bytes(kubernetes["memory"]), f"{name}: mem_limit as on Kubernetes"


def test_every_image_service_has_a_kubernetes_twin() -> None:
    """The services run from the fleet's image, but for the one-shots, all have limits to compare against."""
    twins = _kubernetes_limits()
    ours = [n for n, s in _services().items() if s.get("image") == "bookstore-checkout:latest"]
    missing = [n for n in ours if n not in ("pki", "operator") and KUBERNETES_NAME.get(n, n) not in twins]
    assert not missing, f"no Kubernetes workload for {missing}"


@pytest.mark.docker
@pytest.mark.timeout(900)
def test_the_running_containers_carry_the_hardening(fleet: ComposeFleet) -> None:
    """What the engine applied, as docker inspect shows it: docker-compose 1.29 honours every key above."""
    for name in SERVICES_RUN:
        config = _services()[name]
        host = fleet.inspect(name)["HostConfig"]
        assert host["ReadonlyRootfs"] is True and "/tmp" in (host.get("Tmpfs") or {}), name
        assert host["CapDrop"] == ["ALL"] and "no-new-privileges:true" in host["SecurityOpt"], name
        assert host["NanoCpus"] == int(float(config["cpus"]) * 1e9), name
        assert host["Memory"] == _bytes(config["mem_limit"]), name
