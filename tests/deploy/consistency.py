"""Whether the fleet's three descriptions agree: variables.env (every setting, the local fleet's addresses),
docker-compose.yaml and the rendered Kubernetes manifests. Each check returns the disagreements as sentences.

Same services (by the module each runs), replica counts, ports (API, HTTP, health = API + 2000), peer lists,
image and commands, the same stateful services, and settings that differ from variables.env only where
compose overrides them too (and then, outside addresses and public URLs, to the same value).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from utils.settings import parse_peers

Manifest = dict[str, Any]

# The module each service runs (`python -m <module>`), and the setting that says where its gRPC API is.
GROUPS = {"books_database": "BOOKS_DATABASE_PEERS", "order_executor": "ORDER_EXECUTOR_PEERS"}
SINGLETONS = {
    "transaction_verification": "TRANSACTION_VERIFICATION_ADDR",
    "fraud_detection": "FRAUD_DETECTION_ADDR",
    "suggestions": "SUGGESTIONS_ADDR",
    "order_queue": "ORDER_QUEUE_ADDR",
    "payment_service": "PAYMENT_SERVICE_ADDR",
    "orchestrator": "ORCHESTRATOR_FLOW_ADDR",
}
# HTTP servers: the setting holding the port, and the container port's name in the manifests.
HTTP = {"orchestrator": ("ORCHESTRATOR_PORT", "http-api"), "frontend": ("FRONTEND_PORT", "http-shop")}
MODULES = frozenset(GROUPS) | frozenset(SINGLETONS) | frozenset(HTTP)
HEALTH_PORT_OFFSET = 2000  # the TLS contract: the health-only port is the API port + 2000
# Where each deployment is reached from outside: allowed to differ from variables.env and from each other.
PUBLIC_ADDRESS_KEYS = frozenset({"ORCHESTRATOR_URL", "FRONTEND_ORIGIN"})
DATA_MOUNT = "/data"


def read_env(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as the fleet and kustomize read them (comments and blank lines skipped)."""
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def port_of(address: str) -> int:
    return int(address.rpartition(":")[2])


def host_of(address: str) -> str:
    return address.rpartition(":")[0]


def module_of(command: list[str]) -> str:
    if len(command) != 3 or command[1] != "-m":
        raise ValueError(f"expected [python, -m, <module>], got {command}")
    return command[2]


# ---- docker-compose.yaml ----


@dataclass(frozen=True, slots=True)
class ComposeService:
    name: str
    module: str
    image: str
    command: tuple[str, ...]
    environment: dict[str, str]
    has_data: bool


def compose_services(compose: dict[str, Any]) -> dict[str, ComposeService]:
    """The fleet's services: not the optional profiles' extras, nor one-shot jobs (the pki step)."""
    services: dict[str, ComposeService] = {}
    for name, spec in compose["services"].items():
        if "profiles" in spec or spec.get("restart") == "no":
            continue
        volumes = [str(v) for v in spec.get("volumes", [])]
        services[name] = ComposeService(
            name=name,
            module=module_of(spec["command"]),
            image=spec["image"],
            command=tuple(spec["command"]),
            environment={k: str(v) for k, v in (spec.get("environment") or {}).items()},
            has_data=any(v.split(":")[1] == DATA_MOUNT for v in volumes if ":" in v),
        )
    return services


# ---- the rendered manifests ----


@dataclass(frozen=True, slots=True)
class Workload:
    kind: str
    name: str
    module: str
    replicas: int
    manifest: Manifest

    @property
    def pod(self) -> Manifest:
        spec: Manifest = self.manifest["spec"]["template"]["spec"]
        return spec

    @property
    def container(self) -> Manifest:
        containers: list[Manifest] = self.pod["containers"]
        return containers[0]

    @property
    def pod_labels(self) -> dict[str, str]:
        labels: dict[str, str] = self.manifest["spec"]["template"]["metadata"].get("labels", {})
        return labels

    def container_port(self, name: str) -> int | None:
        for port in self.container.get("ports", []):
            if port.get("name") == name:
                number: int = port["containerPort"]
                return number
        return None

    def mounts(self) -> set[str]:
        return {m["mountPath"] for m in self.container.get("volumeMounts", [])}


def workloads(docs: list[Manifest]) -> dict[str, Workload]:
    """Deployments and StatefulSets by the module they run."""
    found: dict[str, Workload] = {}
    for doc in docs:
        if doc["kind"] not in ("Deployment", "StatefulSet"):
            continue
        container = doc["spec"]["template"]["spec"]["containers"][0]
        module = module_of(container["command"])
        if module in found:
            raise ValueError(f"two workloads run {module}: {found[module].name} and {doc['metadata']['name']}")
        found[module] = Workload(doc["kind"], doc["metadata"]["name"], module, doc["spec"].get("replicas", 1), doc)
    return found


def config_map(docs: list[Manifest]) -> dict[str, str]:
    (found,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("bookstore-config")]
    data: dict[str, str] = found.get("data", {})
    return data


def of_kind(docs: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


# ---- the checks ----


def check_services(
    variables: dict[str, str], compose: dict[str, ComposeService], k8s: dict[str, Workload]
) -> list[str]:
    problems = []
    compose_modules = Counter(s.module for s in compose.values())
    if set(compose_modules) != MODULES:
        problems.append(f"docker-compose.yaml runs {sorted(compose_modules)}, the fleet is {sorted(MODULES)}")
    if set(k8s) != MODULES:
        problems.append(f"the manifests run {sorted(k8s)}, the fleet is {sorted(MODULES)}")
    for module in sorted(MODULES & set(k8s)):
        expected = len(parse_peers(variables[GROUPS[module]])) if module in GROUPS else None
        counts = {"docker-compose.yaml": compose_modules.get(module, 0), "the manifests": k8s[module].replicas}
        if expected is not None:
            counts["variables.env"] = expected
            if len(set(counts.values())) != 1:
                problems.append(f"{module}: replica counts differ: {counts}")
        elif counts["docker-compose.yaml"] != 1:
            problems.append(f"{module}: docker-compose.yaml runs {counts['docker-compose.yaml']} of it, expected 1")
    images = {s.image for s in compose.values()} | {w.container["image"] for w in k8s.values()}
    if len(images) != 1:
        problems.append(f"more than one image: {sorted(images)}")
    for service in compose.values():
        workload = k8s.get(service.module)
        if workload is None:
            continue
        if tuple(workload.container["command"]) != service.command:
            problems.append(f"{service.module}: command {workload.container['command']} vs compose {service.command}")
        stateful = DATA_MOUNT in workload.mounts()
        if stateful != service.has_data:
            problems.append(
                f"{service.module}: compose {'keeps' if service.has_data else 'keeps no'} data at {DATA_MOUNT}, "
                f"the manifests {'mount' if stateful else 'mount no'} volume there"
            )
    return problems


def check_addresses(
    variables: dict[str, str], compose: dict[str, ComposeService], docs: list[Manifest], k8s: dict[str, Workload]
) -> list[str]:
    """Every singleton's port agrees in the three, and in the manifests its address names a Service that
    reaches that port of the workload running the service."""
    problems = []
    config = config_map(docs)
    services = of_kind(docs, "Service")
    for module, key in sorted(SINGLETONS.items()):
        ports = {"variables.env": port_of(variables[key]), "the ConfigMap": port_of(config[key])}
        for service in compose.values():
            if key in service.environment:
                ports[f"compose {service.name}"] = port_of(service.environment[key])
                host = host_of(service.environment[key])
                if host not in compose or compose[host].module != module:
                    problems.append(f"{key}: compose's host {host!r} is not the service running {module}")
        if len(set(ports.values())) != 1:
            problems.append(f"{key}: ports differ: {ports}")
        problems += _service_reaches(services, k8s.get(module), host_of(config[key]), port_of(config[key]), key)
    for module, (key, port_name) in sorted(HTTP.items()):
        workload = k8s.get(module)
        if workload is not None and workload.container_port(port_name) != int(variables[key]):
            problems.append(
                f"{key}={variables[key]}, but {workload.name}'s {port_name} port is "
                f"{workload.container_port(port_name)}"
            )
    return problems


def _service_reaches(
    services: dict[str, Manifest], workload: Workload | None, host: str, port: int, key: str
) -> list[str]:
    if workload is None:
        return []
    service = services.get(host)
    if service is None:
        return [f"{key}: no Service named {host!r}"]
    if not selects(service["spec"].get("selector", {}), workload.pod_labels):
        return [f"{key}: Service {host!r} does not select {workload.name}'s pods"]
    targets = [p.get("targetPort", p["port"]) for p in service["spec"]["ports"] if p["port"] == port]
    if not targets:
        return [f"{key}: Service {host!r} has no port {port}"]
    target = targets[0]
    container_port = workload.container_port(target) if isinstance(target, str) else target
    if container_port != port:
        return [f"{key}: Service {host!r} sends {port} to {workload.name}'s port {container_port}"]
    return []


def check_peer_lists(
    variables: dict[str, str], compose: dict[str, ComposeService], docs: list[Manifest], k8s: dict[str, Workload]
) -> list[str]:
    """Compose's peer lists are variables.env's ids and ports on compose's hosts; the manifests' are the
    StatefulSet's pods (<name>-<ordinal>.<headless Service>) on one port, variables.env's first replica's."""
    problems = []
    config = config_map(docs)
    services = of_kind(docs, "Service")
    for module, key in sorted(GROUPS.items()):
        local = parse_peers(variables[key])
        for service in compose.values():
            if key not in service.environment:
                continue
            theirs = parse_peers(service.environment[key])
            if list(theirs) != list(local) or [port_of(a) for a in theirs.values()] != [
                port_of(a) for a in local.values()
            ]:
                problems.append(
                    f"{key}: compose {service.name} has {service.environment[key]!r}, variables.env {variables[key]!r}"
                )
            for node_id, address in theirs.items():
                if host_of(address) not in compose or compose[host_of(address)].module != module:
                    problems.append(f"{key}: compose's {node_id} at {address} is not a service running {module}")
        workload = k8s.get(module)
        if workload is None:
            continue
        cluster = parse_peers(config[key])
        if workload.kind != "StatefulSet":
            problems.append(f"{module} runs as a {workload.kind}, not a StatefulSet")
            continue
        governing = workload.manifest["spec"]["serviceName"]
        expected = {f"{workload.name}-{i}": f"{workload.name}-{i}.{governing}" for i in range(workload.replicas)}
        if {k: host_of(a) for k, a in cluster.items()} != expected:
            problems.append(f"{key}: the ConfigMap has {config[key]!r}, the StatefulSet's pods are {expected}")
        cluster_ports = {port_of(a) for a in cluster.values()}
        wanted = {port_of(next(iter(local.values()))), workload.container_port("grpc")}
        if cluster_ports != wanted or len(wanted) != 1:
            problems.append(
                f"{key}: the ConfigMap's ports {sorted(cluster_ports)}, variables.env's first replica's "
                f"and {workload.name}'s grpc port are {sorted(p for p in wanted if p)}"
            )
        headless = services.get(governing)
        if headless is None or headless["spec"].get("clusterIP") != "None":
            problems.append(f"{workload.name}: its governing Service {governing!r} is not headless")
        elif not headless["spec"].get("publishNotReadyAddresses"):
            problems.append(f"{governing}: a group forms before its replicas are ready: publishNotReadyAddresses")
        env = {e["name"]: e for e in workload.container.get("env", [])}
        node_id = env.get("NODE_ID", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
        if node_id != "metadata.name":
            problems.append(f"{workload.name}: NODE_ID must be the pod's name (its ordinal), not {env.get('NODE_ID')}")
    return problems


def check_health_ports(k8s: dict[str, Workload]) -> list[str]:
    """Every gRPC server's health-only port is its API port + 2000, and its probes ask there: liveness the
    service "" (it serves), readiness "ready" (it can do its job)."""
    problems = []
    for workload in k8s.values():
        api = workload.container_port("grpc")
        if api is None:
            continue
        health = workload.container_port("health")
        if health != api + HEALTH_PORT_OFFSET:
            problems.append(f"{workload.name}: health port {health}, expected {api + HEALTH_PORT_OFFSET}")
        container = workload.container
        for probe, service in (("startupProbe", ""), ("livenessProbe", ""), ("readinessProbe", "ready")):
            if probe not in container:
                continue
            grpc = container[probe].get("grpc")
            if grpc is None:
                if probe != "startupProbe" and "httpGet" not in container[probe]:
                    problems.append(f"{workload.name}: {probe} is neither gRPC nor HTTP")
                continue
            if grpc["port"] != health or grpc.get("service", "") != service:
                problems.append(f"{workload.name}: {probe} asks {grpc}, expected port {health} service {service!r}")
    return problems


def check_settings(variables: dict[str, str], compose: dict[str, ComposeService], docs: list[Manifest]) -> list[str]:
    """The ConfigMap holds variables.env's keys and no other; a value differs only where compose overrides
    the key too, and, except for addresses and public URLs, to compose's value."""
    problems = []
    config = config_map(docs)
    if set(config) != set(variables):
        problems.append(
            f"ConfigMap keys not in variables.env: {sorted(set(config) - set(variables))}; "
            f"variables.env keys missing: {sorted(set(variables) - set(config))}"
        )
    overridden: dict[str, set[str]] = {}
    for service in compose.values():
        for key, value in service.environment.items():
            overridden.setdefault(key, set()).add(value)
    for key in sorted(set(config) & set(variables)):
        if config[key] == variables[key]:
            continue
        if key not in overridden:
            problems.append(
                f"{key}: the ConfigMap has {config[key]!r}, variables.env {variables[key]!r}, "
                "and compose keeps variables.env's"
            )
        elif key in PUBLIC_ADDRESS_KEYS or key in GROUPS.values() or key in SINGLETONS.values():
            continue  # checked by port in check_addresses and check_peer_lists
        elif overridden[key] != {config[key]}:
            problems.append(f"{key}: the ConfigMap has {config[key]!r}, compose {sorted(overridden[key])}")
    return problems


def check_service_environment(compose: dict[str, ComposeService], k8s: dict[str, Workload]) -> list[str]:
    """What compose sets for one service only (NODE_ID, the gateway's operator settings) the manifests set for
    that workload too: the same value, or from the pod (valueFrom), or, for a secret, its file (KEY_FILE)."""
    problems = []
    shared = set.intersection(*(set(s.environment) for s in compose.values())) if compose else set()
    for service in compose.values():
        workload = k8s.get(service.module)
        if workload is None:
            continue
        env = {e["name"]: e for e in workload.container.get("env", [])}
        for key in sorted(set(service.environment) - shared):
            given = env.get(key) or env.get(f"{key}_FILE")
            if given is None:
                problems.append(f"{service.module}: compose's {service.name} sets {key}, the manifests do not")
            elif "value" in given and given["name"] == key and given["value"] != service.environment[key]:
                problems.append(f"{service.module}: {key}={given['value']!r}, compose {service.environment[key]!r}")
    return problems


def check_all(variables: dict[str, str], compose_yaml: dict[str, Any], docs: list[Manifest]) -> list[str]:
    compose = compose_services(compose_yaml)
    k8s = workloads(docs)
    return (
        check_services(variables, compose, k8s)
        + check_addresses(variables, compose, docs, k8s)
        + check_peer_lists(variables, compose, docs, k8s)
        + check_health_ports(k8s)
        + check_settings(variables, compose, docs)
        + check_service_environment(compose, k8s)
    )
