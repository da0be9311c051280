"""Samples every replica's Raft status (role, term, leader) several times a second while the run goes:
the evidence for I6 (one leader per term), the failover durations, and how faults find today's leader.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import grpc

from chaos.history import History
from chaos.load import Clock
from testing.evidence import StatusSample
from utils.pb.raft import raft_pb2, raft_pb2_grpc
from utils.rpc.client import call, open_channel

SAMPLE_EVERY_S = 0.2
PROBE_TIMEOUT_S = 0.3


class StatusProbe:
    """Raft Status of each replica of both groups, asked in parallel, each with its own short deadline."""

    def __init__(self, groups: Callable[[], dict[str, dict[str, str]]]) -> None:
        self.groups = groups  # () → group → replica id → host:port (may change: docker)
        self._stubs: dict[str, raft_pb2_grpc.RaftStub] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="chaos-status")

    def _stub(self, node_id: str, address: str) -> raft_pb2_grpc.RaftStub:
        with self._lock:
            if address not in self._stubs:
                self._stubs[address] = raft_pb2_grpc.RaftStub(open_channel(address, node_id, retries=False))
            return self._stubs[address]

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def sample(self, at_s: float) -> list[StatusSample]:
        jobs = [
            (group, node_id, self._pool.submit(self._probe, node_id, address))
            for group, peers in sorted(self.groups().items())
            for node_id, address in sorted(peers.items())
        ]
        samples = []
        for group, node_id, job in jobs:
            status = job.result()
            if status is None:
                samples.append(StatusSample(at_s, group, node_id, "unreachable", 0, "", 0))
            else:
                samples.append(
                    StatusSample(
                        at_s, group, node_id, status.role, int(status.term), status.leader_id, int(status.commit_index)
                    )
                )
        return samples

    def _probe(self, node_id: str, address: str) -> raft_pb2.StatusReply | None:
        try:
            reply: raft_pb2.StatusReply = call(
                self._stub(node_id, address).Status, raft_pb2.StatusRequest(), timeout_s=PROBE_TIMEOUT_S
            )
            return reply
        except grpc.RpcError:
            return None

    def leader(self, group: str) -> str | None:
        """The replica claiming leadership in the highest term right now, if any."""
        samples = self.sample(0.0)
        claims = [(s.term, s.node_id) for s in samples if s.group == group and s.role == "leader"]
        return max(claims)[1] if claims else None


class Sampler:
    def __init__(self, probe: StatusProbe, history: History, clock: Clock) -> None:
        self.probe = probe
        self.history = history
        self.clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="chaos-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            self.history.add_status_samples(self.probe.sample(round(self.clock.now_s(), 3)))
