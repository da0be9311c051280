"""`make run`'s launcher as its user meets it: each stop signal (and a SIGKILL) leaves no process behind, a
second launcher on the same data folder refuses to start, and a busy port is named with its holder."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from testing.fleet_env import fleet_env
from utils.fleet.launcher import REPO_ROOT

pytestmark = pytest.mark.fleet
HEALTHY_TIMEOUT_S = 120.0
GONE_TIMEOUT_S = 20.0


@dataclass
class Launcher:
    process: subprocess.Popen[str]
    data: Path
    env: dict[str, str]

    def children(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)


def _launch(tmp_path: Path, env: dict[str, str], only: str = "") -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "utils.fleet", "run", "--data", str(tmp_path / "data")]
    command += ["--logs", str(tmp_path / "logs"), *(["--only", only] if only else [])]
    return subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _wait_for_line(process: subprocess.Popen[str], marker: str, timeout_s: float) -> list[str]:
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), False)
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line:
            seen.append(line.rstrip())
            if marker in line:
                return seen
        elif process.poll() is not None:
            break
        else:
            time.sleep(0.05)
    raise AssertionError(f"no {marker!r} from the launcher within {timeout_s} s; it printed: {seen}")


def _fleet_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, **fleet_env().env, "PYTHONPATH": str(REPO_ROOT)}


@pytest.fixture
def launcher(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Launcher]:
    env = _fleet_env(tmp_path)
    process = _launch(tmp_path, env, only=getattr(request, "param", ""))
    started = Launcher(process, tmp_path / "data", env)
    try:
        _wait_for_line(process, "fleet healthy", HEALTHY_TIMEOUT_S)
        yield started
    finally:
        for child in psutil.Process(os.getpid()).children(recursive=True):
            child.kill()  # whatever a failed test left
        process.wait(timeout=GONE_TIMEOUT_S)
        if process.stdout is not None:
            process.stdout.close()


def _assert_all_gone(processes: list[psutil.Process]) -> None:
    _gone, alive = psutil.wait_procs(processes, timeout=GONE_TIMEOUT_S)
    assert not alive, f"still running after the launcher stopped: {[p.pid for p in alive]}"


@pytest.mark.parametrize("launcher", [""], indirect=True)
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_whole_fleet_gone_after_sigterm_or_sigkill_of_the_launcher(launcher: Launcher, stop: signal.Signals) -> None:
    children = launcher.children()
    assert len(children) == 13, [c.cmdline() for c in children]
    # A paused child cannot run its own lifeline watcher: the parent-death signal must still end it.
    children[0].suspend()
    launcher.process.send_signal(stop)
    launcher.process.wait(timeout=GONE_TIMEOUT_S + 10)
    if stop is signal.SIGTERM:
        assert launcher.process.returncode == 0
    _assert_all_gone(children)
    opened = [
        f"{oct(path.stat().st_mode & 0o777)} {path}"
        for root in (launcher.data, launcher.data.parent / "logs")
        for path in [root, *root.rglob("*")]
        if not path.is_symlink() and path.stat().st_mode & 0o077
    ]
    assert not opened, "readable by group or others:\n" + "\n".join(opened)


@pytest.mark.parametrize("launcher", ["suggestions"], indirect=True)
@pytest.mark.parametrize("stop", [signal.SIGHUP, signal.SIGINT], ids=lambda s: s.name)
def test_a_closed_terminal_or_ctrl_c_stops_every_child(launcher: Launcher, stop: signal.Signals) -> None:
    children = launcher.children()
    assert children
    launcher.process.send_signal(stop)
    assert launcher.process.wait(timeout=GONE_TIMEOUT_S + 10) == 0
    _assert_all_gone(children)


@pytest.mark.parametrize("launcher", ["suggestions"], indirect=True)
def test_a_second_launcher_on_the_same_data_folder_says_so_and_exits(launcher: Launcher, tmp_path: Path) -> None:
    second = _launch(tmp_path, {**launcher.env, **fleet_env().env})  # other ports: only the data folder is shared
    output, _ = second.communicate(timeout=60)
    assert second.returncode == 1
    assert "already running" in output and str(launcher.process.pid) in output
    assert launcher.process.poll() is None, "the running fleet must be left alone"


def test_a_busy_port_is_named_with_its_holder_and_nothing_starts(tmp_path: Path) -> None:
    env = _fleet_env(tmp_path)
    host, port = env["ORDER_QUEUE_ADDR"].rsplit(":", 1)
    with socket.socket() as squatter:
        squatter.bind((host, int(port)))
        squatter.listen()
        process = _launch(tmp_path, env)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 1
    assert f"{host}:{port} (needed by order_queue) is in use by pid {os.getpid()}" in output, output
    assert "starting" not in output, "nothing may start while a port is taken"
