"""Checkout latency and throughput through the real gateway path, beside the raw costs it is built from.

Starts the fleet's gateway path (TV, FD, S, order queue, payment service, orchestrator) on free loopback
ports, then measures in one run: a raw gRPC health Check round trip, an HTTP /healthz round trip, and
POST /checkout at concurrency 1 and 16 (p50/p99 ms, checkouts/s). Each checkout uses its own valid card,
so the fraud rules' card velocity does not turn the run into rejections.

    .venv/bin/python -m bench.checkout_bench [--checkouts 200] [--whole-fleet]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import requests
from grpc_health.v1 import health_pb2, health_pb2_grpc

from testing.local_fleet import RunningFleet, running_fleet
from testing.orders import checkout_body, serial_card
from utils.rpc.client import call, open_channel

GATEWAY_PATH = {
    "transaction_verification",
    "fraud_detection",
    "suggestions",
    "order_queue",
    "payment_service",
    "orchestrator",
}
TIMEOUT_S = 10.0
_cards = iter(range(10**9))
_cards_lock = threading.Lock()


def order() -> dict[str, Any]:
    with _cards_lock:
        serial = next(_cards)
    return checkout_body(
        [("Clean Architecture", 1)],
        by_title=True,
        buyer=f"Bench User {serial}",
        contact=f"bench{serial}@example.com",
        card=serial_card(serial),
    )


def percentile(samples_ms: list[float], q: float) -> float:
    ordered = sorted(samples_ms)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(name: str, samples_ms: list[float], elapsed_s: float | None = None, extra: str = "") -> None:
    rate = f"  {len(samples_ms) / elapsed_s:8.1f}/s" if elapsed_s else ""
    print(
        f"{name:<36} n={len(samples_ms):<5} p50 {statistics.median(samples_ms):7.2f} ms  "
        f"p99 {percentile(samples_ms, 0.99):7.2f} ms{rate}{extra}",
        flush=True,
    )


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def grpc_round_trips(address: str, peer: str, count: int) -> list[float]:
    stub = health_pb2_grpc.HealthStub(open_channel(address, peer))
    request = health_pb2.HealthCheckRequest()
    for _ in range(20):  # warm the connection
        call(stub.Check, request, timeout_s=TIMEOUT_S)
    return [timed(lambda: call(stub.Check, request, timeout_s=TIMEOUT_S)) for _ in range(count)]


def plaintext_health_round_trips(address: str, count: int) -> list[float]:
    """The same Check on the plaintext health-only port: beside the mTLS figure, what TLS adds to a round trip."""
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        request = health_pb2.HealthCheckRequest()
        for _ in range(20):
            stub.Check(request, timeout=TIMEOUT_S)
        return [timed(lambda: stub.Check(request, timeout=TIMEOUT_S)) for _ in range(count)]


def handshakes(address: str, peer: str, count: int) -> list[float]:
    """A new mutual-TLS connection and its first call: what a client pays once per channel."""

    def one() -> None:
        with open_channel(address, peer, retries=False) as channel:
            call(health_pb2_grpc.HealthStub(channel).Check, health_pb2.HealthCheckRequest(), timeout_s=TIMEOUT_S)

    return [timed(one) for _ in range(count)]


def http_round_trips(api: str, count: int) -> list[float]:
    session = requests.Session()
    return [timed(lambda: session.get(f"{api}/healthz", timeout=TIMEOUT_S).raise_for_status()) for _ in range(count)]


def checkouts(api: str, count: int, concurrency: int) -> tuple[list[float], float, dict[str, int]]:
    local = threading.local()
    outcomes: dict[str, int] = {}
    lock = threading.Lock()

    def one(_: int) -> float:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        body = json.dumps(order())
        started = time.perf_counter()
        response = session.post(f"{api}/checkout", data=body, timeout=TIMEOUT_S)
        elapsed_ms = (time.perf_counter() - started) * 1000
        key = response.json().get("status", str(response.status_code)) if response.ok else str(response.status_code)
        with lock:
            outcomes[key] = outcomes.get(key, 0) + 1
        return elapsed_ms

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        samples = list(pool.map(one, range(count)))
    return samples, time.perf_counter() - started, outcomes


def run(rf: RunningFleet, count: int) -> None:
    queue = rf.settings.order_queue_addr
    report("gRPC health Check round trip (mTLS)", grpc_round_trips(queue, "order_queue", 500))
    health = f"127.0.0.1:{rf.fleet.spec('order_queue').env['HEALTH_PORT']}"
    report("same, plaintext health-only port", plaintext_health_round_trips(health, 500))
    report("new mTLS channel + first call", handshakes(queue, "order_queue", 50))
    report("HTTP GET /healthz round trip", http_round_trips(rf.api, 300))
    checkouts(rf.api, 20, 1)  # warm-up: connections, caches, JIT-free but import-heavy first calls
    for concurrency in (1, 16):
        samples, elapsed_s, outcomes = checkouts(rf.api, count if concurrency == 1 else count * 2, concurrency)
        report(f"POST /checkout, concurrency {concurrency}", samples, elapsed_s, f"  {outcomes}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkouts", type=int, default=200, help="checkouts at concurrency 1 (twice that at 16)")
    parser.add_argument("--whole-fleet", action="store_true", help="also run the Raft groups, which execute orders")
    args = parser.parse_args()
    only = None if args.whole_fleet else GATEWAY_PATH
    with tempfile.TemporaryDirectory(prefix="checkout-bench-") as workdir:
        print(f"starting {'the whole fleet' if only is None else ', '.join(sorted(only))}", flush=True)
        with running_fleet(Path(workdir), only=only, healthy_timeout_s=90) as rf:
            run(rf, args.checkouts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
