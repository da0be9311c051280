"""The launcher's port check agrees with how the services bind: a listener holds a port, the last run's
connections in TIME_WAIT do not (seen: every second `make run` refused to start after a Ctrl-C)."""

from __future__ import annotations

import socket

from testing.fleet_env import free_port
from utils.fleet.ports import is_free


def test_a_listener_holds_its_port() -> None:
    port = free_port()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        assert not is_free("127.0.0.1", port)
    assert is_free("127.0.0.1", port)


def test_connections_left_in_time_wait_by_the_last_run_do_not_hold_the_port() -> None:
    port = free_port()
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        client = socket.create_connection(("127.0.0.1", port))
        served, _ = listener.accept()
        served.close()  # the server closes first: its side of the connection stays in TIME_WAIT on `port`
        client.recv(1)
        client.close()
    assert is_free("127.0.0.1", port)
