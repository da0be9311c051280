"""Open-loop overload of the gateway: goodput at the knee and at 2× and 3× it, with early load shedding (503 +
Retry-After beyond the checkouts-in-flight bound), beside the raw HTTP round trip of the same run.

Starts the gateway path (TV, FD, S, queue, payment service, orchestrator) on free loopback ports, finds the knee
as the closed-loop throughput at 16 in flight, then sends checkouts at fixed arrival rates (open loop: arrivals do
not wait for answers) for --step-s each. Goodput = checkouts answered 200 within the validation budget, per second.

    .venv/bin/python -m bench.overload [--step-s 8] [--in-flight N] [--no-shedding] [--whole-fleet]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import requests

from bench.checkout_bench import GATEWAY_PATH, checkouts, http_round_trips, order, percentile
from bench.open_loop import Answer, Reply, run_open_loop
from testing.local_fleet import running_fleet

BUDGET_S = 3.0  # ORCHESTRATOR_FLOW_TIMEOUT_S: an answer later than this is not goodput
TIMEOUT_S = 10.0
_sessions = threading.local()


@dataclass(frozen=True, slots=True)
class Step:
    rate: float
    duration_s: float
    answers: list[Answer]

    @property
    def latencies_ms(self) -> list[float]:
        """Of the 200s within budget, from when each was due (bench/open_loop.py)."""
        return [a.latency_s * 1000 for a in self.answers if a.status == 200 and a.latency_s <= BUDGET_S]

    @property
    def statuses(self) -> dict[str, int]:
        return dict(Counter(str(a.status) if a.status else "no answer" for a in self.answers))

    @property
    def goodput(self) -> float:
        return len(self.latencies_ms) / self.duration_s


def send_checkout(api: str) -> Reply:
    session: requests.Session | None = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = requests.Session()
    try:
        response = session.post(f"{api}/checkout", data=json.dumps(order()), timeout=TIMEOUT_S)
    except requests.RequestException:
        return Reply(0)
    return Reply(response.status_code, retry_after="Retry-After" in response.headers)


def open_loop(api: str, rate: float, duration_s: float) -> Step:
    return Step(rate, duration_s, run_open_loop(lambda: send_checkout(api), rate, duration_s))


def show(name: str, step: Step, knee_goodput: float | None) -> None:
    lat = step.latencies_ms or [float("nan")]
    ratio = f"  {step.goodput / knee_goodput:6.0%} of the knee's" if knee_goodput else ""
    print(
        f"{name:<12} offered {step.rate:6.1f}/s  goodput {step.goodput:6.1f}/s  p50 {statistics.median(lat):7.1f} ms  "
        f"p99 {percentile(lat, 0.99):7.1f} ms  {dict(sorted(step.statuses.items()))}{ratio}",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--step-s", type=float, default=8.0, help="seconds per offered rate")
    parser.add_argument("--in-flight", type=int, default=0, help="ORCHESTRATOR_CHECKOUTS_IN_FLIGHT_MAX (0: derived)")
    parser.add_argument("--no-shedding", action="store_true", help="admit everything (to see the collapse)")
    parser.add_argument("--whole-fleet", action="store_true", help="also run the Raft groups, which execute orders")
    args = parser.parse_args()
    env: dict[str, str] = {}
    if args.no_shedding:
        env["ORCHESTRATOR_CHECKOUTS_IN_FLIGHT_MAX"] = "100000"
        env["ORCHESTRATOR_HTTP_THREADS"] = "256"
    elif args.in_flight:
        env["ORCHESTRATOR_CHECKOUTS_IN_FLIGHT_MAX"] = str(args.in_flight)
    only = None if args.whole_fleet else GATEWAY_PATH
    with tempfile.TemporaryDirectory(prefix="overload-bench-") as workdir:
        with running_fleet(Path(workdir), only=only, extra_env=env, healthy_timeout_s=90) as rf:
            http = http_round_trips(rf.api, 200)
            print(f"raw: HTTP GET /healthz round trip p50 {statistics.median(http):.2f} ms (same run)", flush=True)
            checkouts(rf.api, 20, 1)  # warm-up
            samples, elapsed_s, _ = checkouts(rf.api, 200, 16)
            knee = len(samples) / elapsed_s
            print(f"knee (closed loop, 16 in flight): {knee:.1f} checkouts/s", flush=True)
            at_knee = open_loop(rf.api, knee, args.step_s)
            show("at the knee", at_knee, None)
            for factor in (2, 3):
                show(f"{factor}x knee", open_loop(rf.api, factor * knee, args.step_s), at_knee.goodput)
    return 0


if __name__ == "__main__":
    sys.exit(main())
