"""Order execution benchmark: how fast the executor group turns queued orders into 2PC outcomes.

Starts a private fleet (books ×3, payment, queue, executors ×3, gateway), enqueues N orders at once (as the gateway
does after validation), and prints throughput and enqueue→final latency; --failover SIGKILLs the executor leader
a third of the way through and reports the gap in completions.

    .venv/bin/python -m bench.execution_bench --orders 200 [--failover] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from order_queue.client import OrderQueueClient
from testing.fleet_env import EXECUTION, FLEET_ENV
from testing.local_fleet import Shop, running_fleet
from testing.orders import GOOD_CARD, queue_order
from utils.catalog.file import load_catalog
from utils.order.order import to_cents
from utils.pb.order_queue import order_queue_pb2 as queue_pb
from utils.pb.payment_service import payment_service_pb2 as pay_pb

FINAL_STATES = (queue_pb.COMMITTED, queue_pb.ABORTED)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8, help="EXECUTOR_CONCURRENCY_MAX")
    parser.add_argument("--failover", action="store_true", help="SIGKILL the executor leader mid-run")
    parser.add_argument("--workdir", default="", help="keep data and logs here (default: a temporary folder)")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args()
    books = load_catalog().books
    env = {**FLEET_ENV, "EXECUTOR_CONCURRENCY_MAX": str(args.concurrency), "LOG_LEVEL": args.log_level}
    with (
        tempfile.TemporaryDirectory() as scratch,
        running_fleet(Path(args.workdir or scratch), only=EXECUTION, extra_env=env) as rf,
    ):
        shop = Shop(rf)
        leader, term = shop.executor_leader()
        queue = OrderQueueClient(rf.settings.order_queue_addr, timeout_s=5)
        ids = [uuid.uuid4().hex for _ in range(args.orders)]

        def enqueue(i: int) -> None:
            # A token pays for one order only, for at most its total (docs/operations.md).
            request = pay_pb.TokenizeRequest(
                card_number=GOOD_CARD, order_id=ids[i], amount_cents_max=to_cents(books[i % len(books)].price)
            )
            token = shop.payment.Tokenize(request, timeout=5)
            queue.enqueue(queue_order(ids[i], [(books[i % len(books)].id, 1)], token.token, token.card_last4))

        started = time.time()
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(enqueue, range(args.orders)))
        enqueued_s = time.time() - started
        finals: dict[str, queue_pb.OrderRecord] = {}
        killed_at: float | None = None
        deadline = time.monotonic() + 120 + args.orders * 0.5
        while len(finals) < len(ids) and time.monotonic() < deadline:
            for oid in ids:
                if oid not in finals:
                    record = queue.get_order(oid)
                    if record is not None and record.state in FINAL_STATES:
                        finals[oid] = record
            if args.failover and killed_at is None and len(finals) >= len(ids) // 3:
                rf.fleet.kill(leader)
                killed_at = time.time()
            time.sleep(0.05)
        elapsed_s = max(r.updated_at for r in finals.values()) - started
        latencies = [r.updated_at - r.order.enqueued_at for r in finals.values()]
        committed = sum(r.state == queue_pb.COMMITTED for r in finals.values())
        print(
            f"orders: {len(ids)} enqueued in {enqueued_s:.2f} s; {len(finals)} final "
            f"({committed} committed, {len(finals) - committed} aborted); executor concurrency {args.concurrency}"
        )
        print(f"throughput: {len(finals) / elapsed_s:.1f} orders/s over {elapsed_s:.2f} s")
        print(
            f"enqueue→final latency: p50 {statistics.median(latencies) * 1000:.0f} ms, "
            f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms, p99 {percentile(latencies, 0.99) * 1000:.0f} ms, "
            f"max {max(latencies) * 1000:.0f} ms"
        )
        if killed_at is not None:
            after = sorted(r.updated_at for r in finals.values() if r.updated_at > killed_at)
            before = [r.updated_at for r in finals.values() if r.updated_at <= killed_at]
            gap = (after[0] - max(before)) if after and before else float("nan")
            new_leader, new_term = shop.executor_leader(not_in=(leader,))
            print(
                f"failover: SIGKILL {leader} (term {term}) → {new_leader} (term {new_term}); completion gap {gap:.2f} s"
            )
        queue.close()
        shop.close()
        return 0 if len(finals) == len(ids) else 1


if __name__ == "__main__":
    sys.exit(main())
