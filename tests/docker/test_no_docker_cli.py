"""No test, test harness or chaos code controls containers through the docker CLI: they use the Docker SDK
(tests/docker/compose_fleet.py, swarm_stack.py, chaos/faults/docker.py). The fleets' own start/stop scripts
(docker/*.sh, deploy/swarm/*.sh) may run `docker`; calling those scripts by path is allowed.

Static and fast (no engine needed): every Python file under tests/, testing/ and chaos/ is parsed and searched for
a command spelled as a list starting with `docker`/`docker-compose`, a shell string starting a docker command
handed to subprocess or os, or a compose call with a container-control verb.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SEARCHED = ("tests", "testing", "chaos")
CLIENTS = {"docker", "docker-compose"}
# Container control, whichever client spells it: what the SDK does for these tests.
CONTROL = {
    "kill", "pause", "unpause", "start", "stop", "restart", "exec", "inspect", "network", "stats", "logs", "ps",
    "update", "rm", "run", "top", "wait", "cp", "port", "container",
}  # fmt: skip
SPAWNERS = {
    ("subprocess", "run"), ("subprocess", "Popen"), ("subprocess", "call"), ("subprocess", "check_call"),
    ("subprocess", "check_output"), ("subprocess", "getoutput"), ("subprocess", "getstatusoutput"),
    ("os", "system"), ("os", "popen"), ("asyncio", "create_subprocess_exec"), ("asyncio", "create_subprocess_shell"),
}  # fmt: skip
SHELL_DOCKER = re.compile(r"(^|[;&|(`]\s*|\$\(\s*)(sudo\s+)?docker(-compose)?\s")


def _text(node: ast.AST) -> str | None:
    """A string constant's value, or an f-string's literal parts joined (what a shell would start with)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def _dotted(node: ast.AST) -> tuple[str, str] | None:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return node.value.id, node.attr
    return None


def _names_compose(node: ast.AST) -> bool:
    """COMPOSE, self.COMPOSE, or a path ending in compose.sh: the compose client."""
    if isinstance(node, ast.Name):
        return node.id == "COMPOSE"
    if isinstance(node, ast.Attribute):
        return node.attr == "COMPOSE"
    text = _text(node)
    return text is not None and text.endswith("compose.sh")


def violations(source: str) -> list[tuple[int, str]]:
    """(line, what) for each docker CLI use for container control in `source`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.List | ast.Tuple) and node.elts:
            first = _text(node.elts[0])
            if first is not None and (first in CLIENTS or first.split(" ", 1)[0] in CLIENTS and " " in first):
                found.append((node.lineno, f"a command list starting {first!r}"))
            elif _names_compose(node.elts[0]) and len(node.elts) > 1 and _text(node.elts[1]) in CONTROL:
                found.append((node.lineno, f"compose {_text(node.elts[1])}"))
        if isinstance(node, ast.Call):
            if _dotted(node.func) in SPAWNERS:
                for arg in node.args:
                    text = _text(arg)
                    if text is not None and SHELL_DOCKER.search(text):
                        found.append((node.lineno, f"a shell command {text[:40]!r}"))
            is_compose = isinstance(node.func, ast.Attribute) and node.func.attr == "compose"
            if is_compose and node.args and _text(node.args[0]) in CONTROL:
                found.append((node.lineno, f"compose({_text(node.args[0])!r}, …)"))
    return found


def test_no_test_or_chaos_code_runs_the_docker_cli() -> None:
    files = sorted(f for top in SEARCHED for f in (REPO_ROOT / top).rglob("*.py") if f.resolve() != Path(__file__))
    assert len(files) > 50, f"searched only {len(files)} files: is {SEARCHED} where the code is?"
    problems = [
        f"{path.relative_to(REPO_ROOT)}:{line}: {what}"
        for path in files
        for line, what in violations(path.read_text(encoding="utf-8"))
    ]
    assert not problems, "the docker CLI for container control (use the Docker SDK):\n  " + "\n  ".join(problems)


@pytest.mark.parametrize(
    "source",
    [
        'subprocess.run(["docker", "kill", container])',
        "run(('docker-compose', 'ps', '-q'))",
        'subprocess.run(["docker inspect", name])',
        'os.system(f"docker pause {name}")',
        'subprocess.check_output("sleep 1; docker network disconnect fleet x", shell=True)',
        "self.run([COMPOSE, 'restart', service])",
        "fleet.compose('logs', '--no-color')",
    ],
)
def test_the_check_finds_each_way_of_calling_it(source: str) -> None:
    assert violations(source), f"not caught: {source}"


@pytest.mark.parametrize(
    "source",
    [
        'run([str(REPO_ROOT / "docker" / "up.sh")], env=env)',  # the fleet's own start script, by path
        "fleet.compose('--profile', 'observability', 'up', '-d', 'prometheus')",
        'run.fault(f"docker kill {leader}")',  # a description, not a command
        "engine().containers.get(name).kill()",
        'FleetHandle("docker", api)',
    ],
)
def test_the_check_allows_the_sdk_and_the_start_scripts(source: str) -> None:
    assert not violations(source), violations(source)
