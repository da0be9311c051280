"""A replicated key-value server over utils/raft, for tests and benchmarks of the runtime over real processes.

python -m testing.raft_kv_server --id n1 --listen 127.0.0.1:PORT --peers n1=HOST:P1,n2=...,n3=... --data DIR
--tls-dir DIR. Mutual TLS as in the fleet: the peers are one Raft group, the operator calls RaftKV.
SIGTERM stops gracefully (leadership transfer first); SIGKILL is the crash the tests inflict.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from concurrent import futures
from pathlib import Path

import grpc

from testing.pb.raft_kv import raft_kv_pb2 as pb
from testing.pb.raft_kv import raft_kv_pb2_grpc
from testing.raft_kv_state import KvStateMachine, encode_command
from utils.raft.errors import NotLeader, RaftUnavailable
from utils.raft.node import RaftNode
from utils.raft.options import RaftOptions
from utils.rpc.authz import AuthorizationInterceptor
from utils.rpc.core.authz import Role, Roster
from utils.rpc.status import abort, abort_for_raft_error
from utils.rpc.trust import Trust
from utils.tls import FleetTls

log = logging.getLogger("raft_kv_server")
SERVER_WORKERS_MAX = 256  # blocked proposals hold a worker each: the benchmark keeps 64 in flight
# This test service's own rows of the authorization table: the operator (tests, benchmarks) reads and writes.
KV_RULES = {
    f"/bookstore.raft_kv.RaftKV/{method}": frozenset({Role.OPERATOR})
    for method in ("Put", "Append", "Get", "Digest", "Load")
}


class RaftKvServicer(raft_kv_pb2_grpc.RaftKVServicer):
    def __init__(self, node: RaftNode, state: KvStateMachine) -> None:
        self._node = node
        self._state = state

    def _write(self, op: str, request: pb.WriteRequest, context: grpc.ServicerContext) -> pb.WriteReply:
        try:
            index = self._node.propose(
                encode_command(op, request.key, request.value), timeout_s=context.time_remaining()
            )
        except (NotLeader, RaftUnavailable) as error:
            abort_for_raft_error(context, error)
        return pb.WriteReply(index=index)

    def Put(self, request: pb.WriteRequest, context: grpc.ServicerContext) -> pb.WriteReply:
        return self._write("put", request, context)

    def Append(self, request: pb.WriteRequest, context: grpc.ServicerContext) -> pb.WriteReply:
        return self._write("append", request, context)

    def Get(self, request: pb.GetRequest, context: grpc.ServicerContext) -> pb.GetReply:
        try:
            value = self._node.read(lambda sm: sm.get(request.key), timeout_s=context.time_remaining())
        except (NotLeader, RaftUnavailable) as error:
            abort_for_raft_error(context, error)
        return pb.GetReply(value=value)

    def Digest(self, request: pb.DigestRequest, context: grpc.ServicerContext) -> pb.DigestReply:
        try:
            applied, (digest, keys) = self._node.read_local(lambda sm: (sm.digest(), len(sm.data)))
        except RaftUnavailable as error:
            abort_for_raft_error(context, error)
        status = self._node.status()
        return pb.DigestReply(
            node_id=self._node.node_id,
            applied_index=applied,
            sha256=digest,
            keys=keys,
            role=status.role.value,
            term=status.term,
        )

    def Load(self, request: pb.LoadRequest, context: grpc.ServicerContext) -> pb.LoadReply:
        if not self._node.is_leader():
            abort(context, grpc.StatusCode.FAILED_PRECONDITION, "load runs on the leader")
        try:
            return run_load(self._node, request.outstanding, request.seconds, request.value_bytes)
        except ValueError as error:
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(error))


LOAD_OUTSTANDING_MAX = 256


def run_load(node: RaftNode, outstanding: int, seconds: float, value_bytes: int) -> pb.LoadReply:
    """Proposes from `outstanding` threads for `seconds`; the latency of each commit, as the proposer sees it."""
    if not 1 <= outstanding <= LOAD_OUTSTANDING_MAX or not 0 < seconds <= 60:
        raise ValueError(f"outstanding must be in 1..{LOAD_OUTSTANDING_MAX} and seconds in (0, 60]")
    value = "v" * value_bytes
    latencies: list[list[float]] = [[] for _ in range(outstanding)]
    failures = [0] * outstanding
    stop_at = time.monotonic() + seconds

    def proposer(worker: int) -> None:
        command = encode_command("put", f"load{worker}", value)
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                node.propose(command)
            except (NotLeader, RaftUnavailable):
                failures[worker] += 1
                continue
            latencies[worker].append(time.perf_counter() - started)

    started = time.monotonic()
    threads = [threading.Thread(target=proposer, args=(w,), daemon=True) for w in range(outstanding)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    samples = sorted(s for worker in latencies for s in worker)
    if not samples:
        return pb.LoadReply(failed=sum(failures), elapsed_s=elapsed)
    return pb.LoadReply(
        committed=len(samples),
        failed=sum(failures),
        elapsed_s=elapsed,
        p50_ms=1000 * samples[len(samples) // 2],
        p99_ms=1000 * samples[min(len(samples) - 1, int(0.99 * len(samples)))],
    )


def parse_peers(text: str) -> dict[str, str]:
    peers: dict[str, str] = {}
    for item in text.split(","):
        node_id, _, address = item.partition("=")
        if not node_id or not address:
            raise argparse.ArgumentTypeError(f"peer {item!r} is not id=host:port")
        peers[node_id.strip()] = address.strip()
    return peers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--id", required=True)
    parser.add_argument("--listen", required=True, help="host:port to serve on")
    parser.add_argument("--peers", required=True, type=parse_peers, help="id=host:port,... including this node")
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--tls-dir", required=True, type=Path, help="ca.crt and <id>.crt/.key (testing/pki.py)")
    parser.add_argument("--snapshot-every", type=int, default=RaftOptions().snapshot_every_entries)
    parser.add_argument("--tick-ms", type=int, default=RaftOptions().tick_ms)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level, stream=sys.stderr, format=f"%(asctime)s {args.id} %(levelname)s %(name)s %(message)s"
    )

    tls = FleetTls(args.tls_dir, args.id)
    trust = Trust(tls, Roster(frozenset(), frozenset(), (frozenset(args.peers),)), None, KV_RULES)
    state = KvStateMachine()
    node = RaftNode(
        args.id,
        args.peers,
        args.data,
        state,
        RaftOptions(snapshot_every_entries=args.snapshot_every, tick_ms=args.tick_ms),
        tls=tls,
    )
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=SERVER_WORKERS_MAX),
        interceptors=[AuthorizationInterceptor(trust.policy, args.id, "raft_kv")],
        options=[
            ("grpc.so_reuseport", 0),
            ("grpc.max_receive_message_length", RaftOptions().message_bytes_max),
            ("grpc.max_send_message_length", RaftOptions().message_bytes_max),
        ],
    )
    raft_kv_pb2_grpc.add_RaftKVServicer_to_server(RaftKvServicer(node, state), server)
    node.register(server)
    if server.add_secure_port(args.listen, tls.server_credentials()) == 0:
        raise SystemExit(f"cannot listen on {args.listen}")
    server.start()
    node.start()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    print(f"raft_kv_server {args.id} serving on {args.listen}", flush=True)
    stopping.wait()
    node.stop(transfer_leadership=True)
    server.stop(grace=1.0).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
