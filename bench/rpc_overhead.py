"""The per-call cost of our gRPC stack (utils/rpc: client.call, ClientInterceptor, server interceptors, authz,
metrics) against bare grpc over the same mutual TLS, in one run, so both figures meet the same machine load.

`python -m bench.rpc_overhead [--calls N] [--rounds R]` serves one small unary method (FlowReport.Report) both ways
and calls it back to back from one thread: calls/s, and CPU-µs per call (client and server share the process, so
it is both sides' cost; process CPU time is far less sensitive to other load than wall time). Rounds alternate.
`--count-calls` prints instead the function calls (Python and C, every thread) per RPC: the same on any load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from testing.pki import harness_tls, harness_trust
from utils.logs import configure_logging
from utils.pb.common import common_pb2
from utils.pb.orchestrator import flow_report_pb2, flow_report_pb2_grpc
from utils.rpc import correlation
from utils.rpc.client import call, open_channel
from utils.rpc.server import MESSAGE_BYTES_MAX, GrpcService
from utils.rpc.trust import install_trust
from utils.telemetry import configure_telemetry

CALLER = "transaction_verification"  # a caller the table allows for Report
SERVER = "orchestrator"
CALL_TIMEOUT_S = 5.0


class _Report(flow_report_pb2_grpc.FlowReportServicer):
    def Report(self, request: flow_report_pb2.FlowOutcome, context: grpc.ServicerContext) -> flow_report_pb2.ReportAck:
        return flow_report_pb2.ReportAck(known=True)


def _request() -> flow_report_pb2.FlowOutcome:
    return flow_report_pb2.FlowOutcome(
        order_id="0123456789abcdef0123456789abcdef",
        status=flow_report_pb2.FLOW_STATUS_APPROVED,
        clock=common_pb2.VectorClock(counters={"transaction_verification": 4, "fraud_detection": 3, "suggestions": 2}),
        service="suggestions",
        event="GetSuggestions",
    )


def _bare_server() -> tuple[grpc.Server, int]:
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=8),
        options=[
            ("grpc.so_reuseport", 0),
            ("grpc.max_receive_message_length", MESSAGE_BYTES_MAX),
            ("grpc.max_send_message_length", MESSAGE_BYTES_MAX),
        ],
    )
    flow_report_pb2_grpc.add_FlowReportServicer_to_server(_Report(), server)
    port = server.add_secure_port("127.0.0.1:0", harness_tls(SERVER).server_credentials())
    server.start()
    return server, port


def _our_server() -> GrpcService:
    servicer = _Report()
    service = GrpcService(
        "bench-rpc",
        "127.0.0.1:0",
        [lambda s: flow_report_pb2_grpc.add_FlowReportServicer_to_server(servicer, s)],
        [flow_report_pb2.DESCRIPTOR.services_by_name["FlowReport"].full_name],
        workers_max=8,
        identity=SERVER,
    )
    service.start()
    return service


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    calls_per_s: float
    cpu_us_per_call: float


class _CallCounter:
    """A profile hook on every thread counting function calls while on: work per RPC, whatever the machine's load."""

    def __init__(self) -> None:
        self.on = False
        self.calls = 0

    def install(self) -> None:
        threading.setprofile(self._hook)  # threads started from now on (the servers' pools)
        sys.setprofile(self._hook)

    def _hook(self, _frame: Any, event: str, _arg: Any) -> None:
        if self.on and event in ("call", "c_call"):
            self.calls += 1

    def per_call(self, one_call: Callable[[], Any], calls: int) -> float:
        for _ in range(min(200, calls)):
            one_call()
        self.calls, self.on = 0, True
        for _ in range(calls):
            one_call()
        self.on = False
        return self.calls / calls


def _measure(name: str, one_call: Callable[[], Any], calls: int) -> Figure:
    for _ in range(min(200, calls)):  # connect, warm caches
        one_call()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        one_call()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return Figure(name, calls / wall, cpu / calls * 1e6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=["bare grpc", "utils/rpc"], help="one stack alone (e.g. under py-spy)")
    parser.add_argument("--count-calls", action="store_true", help="function calls per RPC instead of timings")
    args = parser.parse_args()
    counter = _CallCounter()
    if args.count_calls:
        counter.install()  # before any server thread starts
    configure_telemetry("bench-rpc")  # real OTel instruments, as in every service (not the no-op default)
    # As a service logs: INFO lines in JSON to a file (the server's one line per call is part of its cost).
    log_dir = Path(tempfile.mkdtemp(prefix="bench-rpc-"))
    configure_logging("bench-rpc", "INFO", log_dir / "bench.log")
    install_trust(harness_trust(CALLER))
    bare_server, bare_port = _bare_server()
    ours = _our_server()
    request = _request()
    bare_channel = harness_tls(CALLER).secure_channel(f"127.0.0.1:{bare_port}", SERVER)
    bare_stub = flow_report_pb2_grpc.FlowReportStub(bare_channel)
    our_channel = open_channel(f"127.0.0.1:{ours.port}", SERVER)
    our_stub = flow_report_pb2_grpc.FlowReportStub(our_channel)
    correlation.set_correlation_id(correlation.new_correlation_id())  # as in a checkout: every hop carries it
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("bare grpc", lambda: bare_stub.Report(request, timeout=CALL_TIMEOUT_S)),
        ("utils/rpc", lambda: call(our_stub.Report, request, timeout_s=CALL_TIMEOUT_S)),
    ]
    cases = [(name, one) for name, one in cases if args.only in (None, name)]
    if args.count_calls:
        counted = {name: counter.per_call(one_call, min(args.calls, 1000)) for name, one_call in cases}
        for name, per_call in counted.items():
            print(f"{name:<12} {per_call:>6.0f} function calls per RPC (client and server, every thread)")
        if len(counted) == 2:
            print(f"our stack's own: {counted['utils/rpc'] - counted['bare grpc']:.0f} function calls per RPC")
        _close(bare_channel, our_channel, ours, bare_server, log_dir)
        return
    results: dict[str, list[Figure]] = {name: [] for name, _ in cases}
    for _ in range(args.rounds):
        for name, one_call in cases:
            results[name].append(_measure(name, one_call, args.calls))
    load = os.getloadavg()[0]
    print(f"{args.calls} sequential unary calls per round, {args.rounds} rounds alternating; load average {load:.2f}")
    print(f"{'stack':<12} {'calls/s (best)':>15} {'CPU-µs/call (min)':>18}")
    for name, figures in results.items():
        best = max(f.calls_per_s for f in figures)
        cpu = min(f.cpu_us_per_call for f in figures)
        print(f"{name:<12} {best:>15.0f} {cpu:>18.0f}")
    if len(results) == 2:
        bare_cpu = min(f.cpu_us_per_call for f in results["bare grpc"])
        our_cpu = min(f.cpu_us_per_call for f in results["utils/rpc"])
        print(f"our stack's own cost: {our_cpu - bare_cpu:.0f} CPU-µs per call (client and server together)")
    _close(bare_channel, our_channel, ours, bare_server, log_dir)


def _close(bare: grpc.Channel, our: grpc.Channel, ours: GrpcService, bare_server: grpc.Server, log_dir: Path) -> None:
    bare.close()
    our.close()
    ours.stop()
    bare_server.stop(0)
    shutil.rmtree(log_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
