"""Runs a group of raft_kv_server processes on loopback for tests and benchmarks, and injects faults.

Each replica has a free port and a data folder under the given base folder; kill/pause/resume/restart
send real signals (SIGKILL, SIGSTOP, SIGCONT) to real processes. With `isolation`, each replica has a loopback
address of its own (127.0.R.x) and a cgroup, so isolate() cuts one process off both ways (chaos/faults/isolation.py).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from chaos.faults.isolation import LoopbackIsolation
from testing.fleet_env import free_port
from testing.pb.raft_kv import raft_kv_pb2, raft_kv_pb2_grpc
from testing.pki import harness_tls, harness_tls_dir
from utils.pb.raft import raft_pb2, raft_pb2_grpc

REPO_ROOT = Path(__file__).resolve().parents[1]
POLL_S = 0.02
ISOLATED_HOST_OCTET = 30  # replica i of an isolatable cluster listens on 127.0.R.(30 + i)


@dataclass
class Replica:
    node_id: str
    address: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    paused: bool = False
    channel: grpc.Channel = field(init=False)

    def __post_init__(self) -> None:
        self.channel = harness_tls().secure_channel(
            self.address,
            self.node_id,
            [("grpc.initial_reconnect_backoff_ms", 50), ("grpc.max_reconnect_backoff_ms", 200)],
        )
        self.raft = raft_pb2_grpc.RaftStub(self.channel)
        self.kv = raft_kv_pb2_grpc.RaftKVStub(self.channel)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class KvCluster:
    def __init__(
        self,
        base_dir: Path,
        size: int = 3,
        snapshot_every: int | None = None,
        extra_args: tuple[str, ...] = (),
        isolation: LoopbackIsolation | None = None,
    ) -> None:
        self.base_dir = base_dir
        self.isolation = isolation
        octet = random.randint(100, 250)
        self.hosts = {
            f"n{i}": f"127.0.{octet}.{ISOLATED_HOST_OCTET + i}" if isolation is not None else "127.0.0.1"
            for i in range(1, size + 1)
        }
        self.replicas = {
            n: Replica(n, f"{host}:{free_port(host)}", base_dir / n, base_dir / f"{n}.log")
            for n, host in self.hosts.items()
        }
        self._args = list(extra_args)
        if snapshot_every is not None:
            self._args += ["--snapshot-every", str(snapshot_every)]

    @property
    def addresses(self) -> dict[str, str]:
        return {r.node_id: r.address for r in self.replicas.values()}

    def start_all(self) -> None:
        for node_id in self.replicas:
            self.start(node_id)

    def start(self, node_id: str) -> None:
        replica = self.replicas[node_id]
        assert not replica.alive, f"{node_id} is already running"
        peers = ",".join(f"{r.node_id}={r.address}" for r in self.replicas.values())
        log = replica.log_path.open("ab")
        replica.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "testing.raft_kv_server",
                "--id",
                node_id,
                "--listen",
                replica.address,
                "--peers",
                peers,
                "--data",
                str(replica.data_dir),
                "--tls-dir",
                str(harness_tls_dir()),
                *self._args,
            ],
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log.close()
        if self.isolation is not None:  # python starts in far longer than this takes: no socket is open yet
            self.isolation.adopt(node_id, replica.process.pid)
        replica.paused = False

    def kill(self, node_id: str) -> None:
        replica = self.replicas[node_id]
        assert replica.process is not None
        replica.process.send_signal(signal.SIGKILL)
        replica.process.wait(timeout=10)
        replica.paused = False

    def terminate(self, node_id: str, timeout_s: float = 10.0) -> int:
        replica = self.replicas[node_id]
        assert replica.process is not None
        if replica.paused:
            self.resume(node_id)
        replica.process.send_signal(signal.SIGTERM)
        return replica.process.wait(timeout=timeout_s)

    def pause(self, node_id: str) -> None:
        replica = self.replicas[node_id]
        assert replica.process is not None
        replica.process.send_signal(signal.SIGSTOP)
        replica.paused = True

    def resume(self, node_id: str) -> None:
        replica = self.replicas[node_id]
        assert replica.process is not None
        replica.process.send_signal(signal.SIGCONT)
        replica.paused = False

    def isolate(self, node_id: str) -> None:
        """Cuts one replica off from every peer and client, both ways, until heal()."""
        assert self.isolation is not None, "this cluster was made without isolation"
        self.isolation.isolate(node_id, self.hosts[node_id])

    def heal(self, node_id: str) -> None:
        assert self.isolation is not None, "this cluster was made without isolation"
        self.isolation.reconnect(node_id)

    def close(self) -> None:
        for replica in self.replicas.values():
            if replica.alive:
                assert replica.process is not None
                replica.process.send_signal(signal.SIGKILL)
                replica.process.wait(timeout=10)
            replica.channel.close()
        if self.isolation is not None:
            self.isolation.close()  # every rule it added, and the cgroups (empty now)

    # ---- observation ---------------------------------------------------------------------------

    def status(self, node_id: str, timeout_s: float = 0.3) -> raft_pb2.StatusReply | None:
        replica = self.replicas[node_id]
        if not replica.alive or replica.paused:
            return None
        try:
            reply: raft_pb2.StatusReply = replica.raft.Status(raft_pb2.StatusRequest(), timeout=timeout_s)
        except grpc.RpcError:
            return None
        return reply

    def digest(self, node_id: str, timeout_s: float = 1.0) -> raft_kv_pb2.DigestReply | None:
        try:
            digest: raft_kv_pb2.DigestReply = self.replicas[node_id].kv.Digest(
                raft_kv_pb2.DigestRequest(), timeout=timeout_s
            )
        except grpc.RpcError:
            return None
        return digest

    def wait_for_leader(self, timeout_s: float = 10.0, exclude: frozenset[str] = frozenset()) -> str:
        """A leader that every other live, running replica (outside `exclude`) follows in its term."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            statuses = {n: s for n in self.replicas if n not in exclude and (s := self.status(n)) is not None}
            leaders = [n for n, s in statuses.items() if s.role == "leader"]
            if len(leaders) == 1:
                leader = leaders[0]
                term = statuses[leader].term
                if all(s.leader_id == leader and s.term == term for s in statuses.values()):
                    return leader
            time.sleep(POLL_S)
        raise TimeoutError(f"no agreed leader within {timeout_s} s (excluding {sorted(exclude)})")

    def wait_until_converged(self, timeout_s: float = 10.0) -> dict[str, raft_kv_pb2.DigestReply]:
        """Every live replica applied the same index and holds the same state digest."""
        deadline = time.monotonic() + timeout_s
        digests: dict[str, raft_kv_pb2.DigestReply] = {}
        while time.monotonic() < deadline:
            digests = {n: d for n, r in self.replicas.items() if r.alive and (d := self.digest(n)) is not None}
            if (
                len(digests) == sum(r.alive for r in self.replicas.values())
                and len({(d.applied_index, d.sha256) for d in digests.values()}) == 1
            ):
                return digests
            time.sleep(POLL_S * 5)
        seen = [(n, d.applied_index, d.sha256[:8]) for n, d in digests.items()]
        raise TimeoutError(f"replicas did not converge: {seen}")
