"""Role listeners run after status() already shows the role they are told about.

A service that starts leader-only work on the LEADER notification checks status() to know it still
leads; a stale status made it give up the term it had just won and sit idle while leader.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services.raft.local_cluster import LocalCluster
from utils.raft.core import Message, MessageType, Role

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    group = LocalCluster(tmp_path)
    group.start_all()
    yield group
    group.close()


def test_a_new_leaders_listener_sees_itself_leading_in_status(cluster: LocalCluster) -> None:
    old = cluster.wait_for_leader()
    old_term = cluster.node(old).status().term
    told = threading.Event()
    seen: list[tuple[int, Role, int]] = []
    for node_id in cluster.running():
        if node_id == old:
            continue
        node = cluster.node(node_id)

        def listener(role: Role, term: int, node_id: str = node_id) -> None:
            if role is Role.LEADER:
                status = cluster.node(node_id).status()
                seen.append((term, status.role, status.term))
                told.set()

        node.add_role_listener(listener)
        for sender in node._senders.values():
            send = sender.send

            def held(message: Message, send: object = send) -> None:
                # The new leader's first APPENDs go out right after it announces its role: hold the
                # driver here until the listener has looked, so the order cannot hide a stale status.
                if message.type is MessageType.APPEND and message.term > old_term:
                    told.wait(timeout=2)
                send(message)  # type: ignore[operator]

            sender.send = held  # type: ignore[method-assign]
    cluster.stop(old)
    cluster.wait_until(lambda: bool(seen), what="a new leader's notification")
    term, role, status_term = seen[0]
    assert (role, status_term) == (Role.LEADER, term), f"told leader in term {term}, status said {role} {status_term}"
