"""An in-process Raft group for tests: each member is a RaftNode on its own gRPC server on loopback, over mutual
TLS with its own certificate (testing/pki.py) and the fleet's authorization table.

Members stop and restart on the same port and data folder, like a process restart without the fork.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from testing.fleet_env import free_port
from testing.pki import harness_tls, harness_trust
from testing.raft_kv_state import KvStateMachine, encode_command
from utils.raft.core import Role
from utils.raft.errors import NotLeader, RaftUnavailable
from utils.raft.node import RaftNode
from utils.raft.options import RaftOptions
from utils.rpc.authz import AuthorizationInterceptor

FAST = RaftOptions(tick_ms=25, heartbeat_ticks=2, election_ticks=10)
POLL_S = 0.01


@dataclass
class Member:
    node_id: str
    address: str
    data_dir: Path
    node: RaftNode | None = None
    server: grpc.Server | None = None
    state: KvStateMachine = field(default_factory=KvStateMachine)
    roles: list[tuple[Role, int]] = field(default_factory=list)


class LocalCluster:
    def __init__(self, base: Path, size: int = 3, options: RaftOptions = FAST) -> None:
        self.options = options
        self.members = {
            f"n{i}": Member(f"n{i}", f"127.0.0.1:{free_port()}", base / f"n{i}") for i in range(1, size + 1)
        }

    @property
    def peers(self) -> dict[str, str]:
        return {m.node_id: m.address for m in self.members.values()}

    def start(self, node_id: str, state_machine: Any = None) -> None:
        member = self.members[node_id]
        assert member.node is None, f"{node_id} is running"
        member.state = state_machine if state_machine is not None else KvStateMachine()
        member.roles = []
        tls = harness_tls(node_id)
        member.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=32),
            interceptors=[AuthorizationInterceptor(harness_trust().policy, node_id, "raft-test")],
            options=[("grpc.so_reuseport", 0)],
        )
        member.node = RaftNode(node_id, self.peers, member.data_dir, member.state, self.options, tls=tls)
        member.node.add_role_listener(lambda role, term: member.roles.append((role, term)))
        member.node.register(member.server)
        assert member.server.add_secure_port(member.address, tls.server_credentials()) != 0
        member.server.start()
        member.node.start()

    def start_all(self) -> None:
        for node_id in self.members:
            self.start(node_id)

    def stop(self, node_id: str, transfer_leadership: bool = False) -> None:
        member = self.members[node_id]
        assert member.node is not None and member.server is not None
        member.node.stop(transfer_leadership=transfer_leadership)
        member.server.stop(grace=None).wait()
        member.node = member.server = None

    def close(self) -> None:
        for node_id, member in self.members.items():
            if member.node is not None:
                self.stop(node_id)

    def node(self, node_id: str) -> RaftNode:
        node = self.members[node_id].node
        assert node is not None, f"{node_id} is stopped"
        return node

    def running(self) -> list[str]:
        return [n for n, m in self.members.items() if m.node is not None]

    def wait_for_leader(self, timeout_s: float = 10.0) -> str:
        """A leader that every running member follows, in one term."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            statuses = {n: self.node(n).status() for n in self.running()}
            leaders = [n for n, s in statuses.items() if s.role is Role.LEADER]
            if len(leaders) == 1 and all(
                s.leader_id == leaders[0] and s.term == statuses[leaders[0]].term for s in statuses.values()
            ):
                return leaders[0]
            time.sleep(POLL_S)
        raise TimeoutError("no agreed leader")

    def write(self, key: str, value: str, timeout_s: float = 10.0) -> int:
        """Puts at the current leader, retrying only failures that certainly did not apply."""
        return int(self.call_leader(lambda node: node.propose(encode_command("put", key, value)), timeout_s))

    def call_leader(self, call: Callable[[RaftNode], Any], timeout_s: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return call(self.node(self.wait_for_leader(max(0.1, deadline - time.monotonic()))))
            except (NotLeader, RaftUnavailable) as error:
                if isinstance(error, RaftUnavailable) and error.outcome_unknown or time.monotonic() > deadline:
                    raise
                time.sleep(POLL_S)

    def wait_until(self, condition: Callable[[], bool], timeout_s: float = 10.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}")
            time.sleep(POLL_S)

    def wait_until_applied_everywhere(self, index: int, timeout_s: float = 10.0) -> None:
        self.wait_until(
            lambda: all(self.node(n).status().applied_index >= index for n in self.running()),
            timeout_s,
            f"every replica to apply index {index}",
        )
