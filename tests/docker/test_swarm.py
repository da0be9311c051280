"""The fleet as a Docker Swarm stack (deploy/swarm/stack.yaml) on this machine's engine: a checkout through the
published gateway port commits; the books database's Raft leader, killed, is replaced by Swarm with a new task
that rejoins its group from its own volume (its Raft term carries on: not a fresh replica), with a checkout
stream running through the fault and docs/design.md §6's I1–I5 checked after it. Everything the test made
(the stack, its volumes and network, and the swarm if the engine was in none) is removed at the end.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docker.errors import NotFound
from docker.models.containers import Container

from tests.docker.orders import place, wait_final
from tests.docker.scenario import SETTLE_S, FaultRun
from tests.docker.swarm_stack import SwarmStack, start_log_line, swarm_mode, swarm_unusable

pytestmark = [pytest.mark.docker, pytest.mark.timeout(600)]
GROUP = "books_database"
BOOK = "book_105_clean_architecture"
BURST_BOOK = "book_139_kubernetes_up_and_running"
READY_TIMEOUT_S = 120.0
NEW_TASK_TIMEOUT_S = 120.0
REJOIN_TIMEOUT_S = 120.0
KILLED_EXIT = 137  # 128 + SIGKILL


@pytest.fixture(scope="module")
def stack(image: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwarmStack]:
    reason = swarm_unusable()
    if reason is not None:
        print(f"\ntest_swarm skipped: {reason}", flush=True)
        pytest.skip(reason)
    with swarm_mode() as how:
        deployed = SwarmStack.for_this_run()
        started = time.monotonic()
        failures = request.session.testsfailed
        deployed_ok = False
        try:
            output = deployed.up()
            ready_s = deployed.wait_ready(READY_TIMEOUT_S)
            deployed_ok = True
            print(
                f"\nswarm ({how}): {output.splitlines()[-1]} (stack {deployed.name}, deploy took "
                f"{time.monotonic() - started:.0f} s, ready {ready_s:.0f} s after the tasks ran)",
                flush=True,
            )
            yield deployed
        finally:
            if not deployed_ok or request.session.testsfailed > failures:
                log_path = Path(tmp_path_factory.getbasetemp()) / f"{deployed.name}.log"
                log_path.write_text(deployed.logs())
                print(f"\nthe stack's logs: {log_path}", flush=True)
            print(f"\n{deployed.down()}", flush=True)


def data_volume(container: Container) -> str:
    return next(str(m["Name"]) for m in container.attrs["Mounts"] if m["Destination"] == "/data")


def replica(view: dict[str, Any], replica_id: str) -> dict[str, Any]:
    return dict(next(r for r in view["replicas"] if r["id"] == replica_id))


def test_checkout_then_a_killed_leader_rejoins_from_its_volume(stack: SwarmStack) -> None:
    placed = place(stack.api, {BOOK: 1}, random.Random(21))
    assert placed.approved and placed.order_id, f"not approved: {placed.status} {placed.reasons}"
    final, pending = wait_final(stack.api, [placed.order_id], SETTLE_S * 3)
    assert not pending and final[placed.order_id]["state"] == "COMMITTED", final or pending

    before = stack.group(GROUP, 60.0)
    leader = str(before["leaderId"])
    term_before = int(replica(before, leader)["term"])
    log_before = int(replica(before, leader)["lastIndex"])
    killed = stack.running_container(leader)
    volume = data_volume(killed)

    def rejoined(view: dict[str, Any]) -> bool:
        """`leader` follows (or leads) the group in a later term, its log at least as long as before the kill."""
        again = replica(view, leader)
        return (
            bool(view["leaderId"])
            and again["role"] in ("leader", "follower")
            and again["leaderId"] == view["leaderId"]
            and int(again["term"] or 0) > term_before
            and int(again["lastIndex"] or 0) >= log_before
        )

    with FaultRun(stack, 21, BURST_BOOK) as run:
        killed.kill()
        run.fault(f"kill of {leader}'s container ({GROUP} leader, term {term_before}, log {log_before})")
        replacement = stack.wait_new_task(leader, str(killed.id), NEW_TASK_TIMEOUT_S)
        run.wait_commit_since_fault()
        after = stack.group(GROUP, REJOIN_TIMEOUT_S, until=rejoined)
        run.healed()
    figures = run.verify((GROUP,))

    # Swarm saw the task die of the kill and started another container for the same service...
    try:
        killed.reload()
        assert killed.attrs["State"]["ExitCode"] == KILLED_EXIT, killed.attrs["State"]
    except NotFound:  # Swarm may prune an old task's container; the task record says how it ended
        pass
    assert any(t["Status"].get("ContainerStatus", {}).get("ExitCode") == KILLED_EXIT for t in stack.tasks(leader)), (
        f"no task of {leader} ended by the kill: {[t['Status'] for t in stack.tasks(leader)]}"
    )
    assert replacement.id != killed.id
    # ...on the same volume, and the replica started from what it held there, not as a fresh member.
    assert data_volume(replacement) == volume
    started = start_log_line(replacement)
    assert int(started["term"]) >= term_before > 0, f"{leader} started from term {started['term']}: a fresh replica"
    now = replica(after, leader)
    print(
        f"{leader} restarted from term {started['term']} (applied {started['applied']}) on {volume}; "
        f"rejoined as {now['role']} in term {now['term']}, log {now['lastIndex']}; {figures}",
        flush=True,
    )
