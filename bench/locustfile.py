"""Locust load for the checkout API with the chaos tool's profile, plus pass/fail thresholds.

For people who already use Locust (it is not a dependency of this project):

    pip install locust
    locust -f bench/locustfile.py --headless -u 10 -r 5 -t 2m --host http://127.0.0.1:8081

Each user makes one request a second (constant pacing; two in three are checkouts), so -u sets the rate.
The orders come from chaos/orders.py: contention on a few hot books, 15 % rejected at validation (bad card
number, terms not accepted), 10 % declined by the payment service. Users also follow their orders
(GET /orders/{id}) and read stock. The run fails (exit status 1) when the 95th percentile latency or the error
rate crosses its threshold;
set them with CHAOS_P95_MS and CHAOS_ERROR_RATE. For faults and invariant checks, use `make chaos`.
"""

from __future__ import annotations

import itertools
import os
import random
import threading
from typing import Any

from locust import HttpUser, constant_pacing, events, task

from chaos.orders import plan_order
from chaos.scenario import LoadProfile

P95_MS_MAX = float(os.environ.get("CHAOS_P95_MS", "1500"))
ERROR_RATE_MAX = float(os.environ.get("CHAOS_ERROR_RATE", "0.01"))
HOT_BOOKS = ["book_123_sicp", "book_124_introduction_to_algorithms", "book_126_computer_systems"]
COLD_BOOKS = [
    "book_101_clean_code",
    "book_102_pragmatic_programmer",
    "book_105_clean_architecture",
    "book_114_designing_data_intensive",
    "book_115_distributed_systems",
    "book_131_fluent_python",
]
PROFILE = LoadProfile()
_sequence = itertools.count(1)
_sequence_lock = threading.Lock()


class Shopper(HttpUser):
    wait_time = constant_pacing(1.0)

    def on_start(self) -> None:
        self.rng = random.Random(int(os.environ.get("CHAOS_SEED", "1")) * 1000 + id(self) % 1000)
        self.orders: list[str] = []

    @task(10)
    def checkout(self) -> None:
        with _sequence_lock:
            sequence = next(_sequence)
        planned = plan_order(self.rng, PROFILE, HOT_BOOKS, COLD_BOOKS, sequence)
        with self.client.post("/checkout", json=planned.body, name="/checkout", catch_response=True) as response:
            body: dict[str, Any] = response.json() if response.status_code == 200 else {}
            expected = "Order Rejected" if planned.kind.expects_rejection else "Order Approved"
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            elif body.get("status") != expected:
                response.failure(f"expected {expected!r} for a {planned.kind.value} order, got {body.get('status')!r}")
            elif expected == "Order Approved":
                self.orders.append(str(body["orderId"]))

    @task(3)
    def follow_order(self) -> None:
        if self.orders:
            order_id = self.orders.pop(0)
            self.client.get(f"/orders/{order_id}", name="/orders/{id}")

    @task(2)
    def read_stock(self) -> None:
        self.client.get("/stock/read", params={"book_id": self.rng.choice(HOT_BOOKS)}, name="/stock/read")


@events.quitting.add_listener
def check_thresholds(environment: Any, **_: Any) -> None:
    """Fails the run when the 95th percentile or the error rate is beyond its threshold."""
    total = environment.stats.total
    p95_ms = total.get_response_time_percentile(0.95) or 0.0
    failed = []
    if total.fail_ratio > ERROR_RATE_MAX:
        failed.append(f"error rate {total.fail_ratio:.2%} > {ERROR_RATE_MAX:.2%}")
    if p95_ms > P95_MS_MAX:
        failed.append(f"p95 {p95_ms:.0f} ms > {P95_MS_MAX:.0f} ms")
    if failed:
        print("thresholds FAILED: " + "; ".join(failed))
        environment.process_exit_code = 1
    else:
        print(f"thresholds passed: p95 {p95_ms:.0f} ms, error rate {total.fail_ratio:.2%}")
