"""An open-loop load generator: requests leave at fixed times whatever the system's answers, as shoppers do.

A closed loop (N clients each waiting for its answer) slows down with the system and hides queueing; here each
latency is measured from when the request was due, so time spent waiting for a free client thread counts too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

CLIENT_THREADS_MAX = 256  # in-flight requests the generator can hold; past that its own queue shows as latency


@dataclass(frozen=True, slots=True)
class Answer:
    due: float  # time.monotonic() at which the request was due to leave
    latency_s: float  # from `due` until the answer (or the failure) arrived
    status: int  # HTTP status; 0 = no answer (timeout, refused connection)
    order_id: str | None  # the order an approved checkout created
    retry_after: bool  # a 503 that said when to come back
    code: str = ""  # the problem's code of a refusal (OVERLOADED: shed at admission; QUEUE_FULL: the queue's bound)


@dataclass(frozen=True, slots=True)
class Reply:
    status: int  # HTTP status; 0 = no answer
    order_id: str | None = None
    retry_after: bool = False
    code: str = ""


Send = Callable[[], Reply]


def run_open_loop(send: Send, rate_per_s: float, duration_s: float) -> list[Answer]:
    """Sends `rate_per_s × duration_s` requests at evenly spaced due times; returns every answer."""
    count = max(1, int(rate_per_s * duration_s))
    start = time.monotonic() + 0.05
    futures: list[Future[Answer]] = []
    done = threading.Semaphore(0)

    def one(due: float) -> Answer:
        try:
            reply = send()
        finally:
            done.release()
        return Answer(due, time.monotonic() - due, reply.status, reply.order_id, reply.retry_after, reply.code)

    with ThreadPoolExecutor(max_workers=CLIENT_THREADS_MAX, thread_name_prefix="open-loop") as pool:
        for index in range(count):
            due = start + index / rate_per_s
            wait_s = due - time.monotonic()
            if wait_s > 0:
                time.sleep(wait_s)
            futures.append(pool.submit(one, due))
        return [future.result() for future in futures]


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
