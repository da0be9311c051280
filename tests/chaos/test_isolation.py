"""Isolation cuts a local process off both ways — its own outgoing connections (by cgroup) and connections to its
loopback address — and healing removes exactly the rules it added. Needs root, iptables and cgroup v2."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid

import pytest

from chaos.faults.isolation import LoopbackIsolation, unavailable_reason

HOST = "127.0.0.213"  # an address no other test uses
CONNECT_TIMEOUT_S = 1.0

# The child process: connects out to the given port on request, and serves on its own port.
CHILD = """
import socket, sys
server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], 0)); server.listen(); server.settimeout(0.2)
print(server.getsockname()[1], flush=True)
for line in sys.stdin:
    try:
        socket.create_connection(("127.0.0.1", int(line)), timeout=1.0).close(); print("out-ok", flush=True)
    except OSError:
        print("out-blocked", flush=True)
"""


def output_rules() -> str:
    return subprocess.run(["iptables", "-S", "OUTPUT"], capture_output=True, text=True, check=True).stdout


def can_connect(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), timeout=CONNECT_TIMEOUT_S).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(unavailable_reason() is not None, reason=f"isolation unavailable: {unavailable_reason()}")
def test_isolate_cuts_both_ways_and_heal_restores() -> None:
    before = output_rules()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    outside_port = listener.getsockname()[1]
    isolation = LoopbackIsolation(f"test{uuid.uuid4().hex[:6]}")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, HOST], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        isolation.adopt("node", child.pid)
        assert child.stdout is not None and child.stdin is not None
        own_port = int(child.stdout.readline())

        def child_connects_out() -> bool:
            child.stdin.write(f"{outside_port}\n")  # type: ignore[union-attr]
            child.stdin.flush()  # type: ignore[union-attr]
            return child.stdout.readline().strip() == "out-ok"  # type: ignore[union-attr]

        assert can_connect(own_port) and child_connects_out()
        isolation.isolate("node", HOST)
        assert not can_connect(own_port)
        assert not child_connects_out()
        isolation.reconnect("node")
        assert can_connect(own_port) and child_connects_out()
        assert output_rules() == before
    finally:
        child.kill()
        child.wait(timeout=5)
        for pipe in (child.stdin, child.stdout):
            if pipe is not None:
                pipe.close()
        listener.close()
        isolation.close()
    assert output_rules() == before
    assert not list(isolation.root.glob(f"chaos-{isolation.run_id}-*"))
