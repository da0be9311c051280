"""The docker suite's fleet: one compose project of its own per pytest process (bookstore-test-<pid>), on free
host ports, built and started through docker/up.sh (what `make up` runs), removed with its volumes at the end
— also after a failure. Projects left behind by a killed run are removed at the next start.

Skipped, with the reason printed, when no Docker engine answers or the images cannot be built offline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from docker.errors import ImageNotFound

from tests.docker.compose_fleet import (
    COMPOSE,
    REPO_ROOT,
    ComposeFleet,
    DockerError,
    engine,
    engine_answers,
    run,
    stale_projects,
)
from tests.docker.swarm_stack import SwarmStack, stale_stacks

IMAGE = "bookstore-checkout:latest"  # docker-compose.yaml's and deploy/swarm/stack.yaml's
UP_TIMEOUT_S = 720.0  # a first build on a fresh machine: base image, wheels, app image, start
BASE_IMAGES = ("python:3.11-slim-bookworm", "bookstore-base:bookworm")


def image_exists(image: str) -> bool:
    try:
        engine().images.get(image)
    except ImageNotFound:
        return False
    return True


def _why_images_cannot_be_built() -> str | None:
    """None when a base image is here or can be made offline, and the wheelhouse can be filled."""
    if not any(image_exists(image) for image in BASE_IMAGES):
        if shutil.which("debootstrap") is None and shutil.which("apt-get") is None:
            return "no base image and no debootstrap to build one offline (docker/build-base-image.sh)"
        try:
            run([str(REPO_ROOT / "docker" / "build-base-image.sh")], timeout_s=600.0)
        except (DockerError, subprocess.TimeoutExpired) as error:
            return f"the base image cannot be built offline: {error}"
    try:
        run([str(REPO_ROOT / "docker" / "build-wheelhouse.sh")], timeout_s=300.0)
    except (DockerError, subprocess.TimeoutExpired) as error:
        return f"the wheelhouse cannot be filled (no PyPI?): {error}"
    return None


def _remove_stale() -> None:
    for project in sorted(stale_projects()):
        print(f"removing {project}, left behind by a pytest run that is gone", flush=True)
        ComposeFleet(project, 0, 0).down()
    for stack in sorted(stale_stacks()):
        print(f"removing stack {stack}, left behind by a pytest run that is gone", flush=True)
        SwarmStack(stack, 0, 0).down()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The Swarm test runs before this suite's other tests: it deploys a fleet of its own, and the compose
    fleet (started for the first test that asks for it, kept to the end) would otherwise share the cores with it."""
    here = Path(__file__).parent
    slots = [i for i, item in enumerate(items) if here in item.path.parents]
    mine = [items[i] for i in slots]
    mine.sort(key=lambda item: item.path.name != "test_swarm.py")  # stable: otherwise in collection order
    for slot, item in zip(slots, mine, strict=True):
        items[slot] = item


@pytest.fixture(scope="session")
def image() -> str:
    """The fleet's image, built once per run (offline when no registry answers), the same way docker/up.sh
    builds it: the compose fleet and the Swarm stack both run it."""
    reason = engine_answers()
    if reason is None:
        _remove_stale()
        reason = _why_images_cannot_be_built()
    if reason is not None:
        print(f"\ntests/docker skipped: {reason}", flush=True)
        pytest.skip(reason)
    base = next(image for image in BASE_IMAGES if image_exists(image))
    started = time.monotonic()
    run([COMPOSE, "build", "-q", "books-1"], env={**os.environ, "BASE_IMAGE": base}, timeout_s=UP_TIMEOUT_S)
    print(f"\n{IMAGE} built from {base} in {time.monotonic() - started:.0f} s", flush=True)
    return IMAGE


@pytest.fixture(scope="session")
def fleet(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, image: str
) -> Iterator[ComposeFleet]:
    compose_fleet = ComposeFleet.for_this_run()
    started = time.monotonic()
    up = False
    try:
        output = compose_fleet.up(timeout_s=UP_TIMEOUT_S)
        up = True
        print(
            f"\n{output.splitlines()[-1] if output else ''} "
            f"(project {compose_fleet.project}, up.sh took {time.monotonic() - started:.0f} s)",
            flush=True,
        )
        yield compose_fleet
    finally:
        failed = not up or request.session.testsfailed > 0  # a fleet that never came up: its logs say why
        log_path = Path(tmp_path_factory.getbasetemp()) / f"{compose_fleet.project}.log"
        try:
            if failed:
                log_path.write_text(compose_fleet.logs())
                print(f"\nthe fleet's logs: {log_path}", flush=True)
        except (DockerError, subprocess.TimeoutExpired, OSError) as error:
            print(f"\ncould not save the fleet's logs: {error}", flush=True)
        compose_fleet.down()
