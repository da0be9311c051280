"""Checkouts against the fleet's published API: one checkout retried under its Idempotency-Key until it is
answered, a background stream of them (the load a fault lands in), and waiting for orders to end.

Every attempt that may have reached the gateway without an answer is counted, so the invariant checks
know which orders may exist beyond the ones the client learnt of.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

from testing.orders import checkout_body, random_card
from testing.retried_refusals import is_retried, refusal_label

HTTP_TIMEOUT_S = 15.0
ANSWER_DEADLINE_S = 90.0  # a checkout keeps being retried (same key) this long
RETRY_PAUSE_S = 0.5
POLL_S = 0.4
SWEEP_WORKERS = 8
FINAL_STATES = ("COMMITTED", "ABORTED", "REJECTED")
APPROVED = "Order Approved"


def order_body(items: dict[str, int], rng: random.Random) -> dict[str, Any]:
    buyer = rng.randrange(10**6)
    return checkout_body(
        sorted(items.items()), buyer=f"Test Buyer {buyer}", contact=f"buyer{buyer}@example.com", card=random_card(rng)
    )


@dataclass
class Placed:
    """One checkout as the client saw it."""

    items: dict[str, int]
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    order_id: str | None = None
    status: str = ""  # "Order Approved" | "Order Rejected" | "" (never answered)
    reasons: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)  # why each attempt that may have run unseen failed
    refused: list[str] = field(default_factory=list)  # answers that said it did not run (409, 429, 50x): retried
    attempts: int = 0

    @property
    def ambiguous_attempts(self) -> int:
        return len(self.ambiguous)

    @property
    def approved(self) -> bool:
        return self.status == APPROVED


def place(api: str, items: dict[str, int], rng: random.Random, deadline_s: float = ANSWER_DEADLINE_S) -> Placed:
    """POST /checkout, retried with the same Idempotency-Key until answered 200 (or the deadline passes)."""
    placed = Placed(dict(items))
    body = json.dumps(order_body(items, rng))
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        placed.attempts += 1
        try:
            reply = requests.post(
                f"{api}/checkout", data=body, timeout=HTTP_TIMEOUT_S, headers={"Idempotency-Key": placed.key}
            )
        except requests.exceptions.ConnectionError as error:
            # Refused at connect: it never reached the gateway. Anything later may have run there.
            if "refused" not in str(error).lower():
                placed.ambiguous.append(type(error).__name__)
            time.sleep(RETRY_PAUSE_S)
            continue
        except requests.exceptions.Timeout:
            placed.ambiguous.append("timeout")
            continue
        if reply.status_code == 200:
            answer = reply.json()
            placed.order_id, placed.status = answer["orderId"], answer["status"]
            placed.reasons = list(answer.get("reasons") or [])
            return placed
        # A refusal says the checkout was not placed: no order may exist after it (else a retry would make a
        # second one), so it is not counted as ambiguous. 409: the first attempt with this key still runs.
        if not is_retried(reply.status_code):
            raise AssertionError(f"checkout answered {reply.status_code}: {reply.text[:300]}")
        placed.refused.append(refusal_label(reply.status_code, _json_or_none(reply)))
        time.sleep(RETRY_PAUSE_S)
    return placed


def _json_or_none(reply: requests.Response) -> Any:
    try:
        return reply.json()
    except ValueError:
        return None


def order_state(api: str, order_id: str) -> dict[str, Any] | None:
    try:
        reply = requests.get(f"{api}/orders/{order_id}", timeout=HTTP_TIMEOUT_S)
    except requests.RequestException:
        return None
    return dict(reply.json()) if reply.status_code == 200 else None


def wait_final(api: str, order_ids: list[str], timeout_s: float) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Each order's record once final; and the ids still not final when `timeout_s` ran out. Sweeps in
    parallel, so a few hundred orders are looked at within the poll interval."""
    final: dict[str, dict[str, Any]] = {}
    pending = sorted(set(order_ids))
    deadline = time.monotonic() + timeout_s
    with ThreadPoolExecutor(max_workers=SWEEP_WORKERS, thread_name_prefix="order-sweep") as pool:
        while pending:
            records = dict(zip(pending, pool.map(lambda order_id: order_state(api, order_id), pending), strict=True))
            final.update({o: r for o, r in records.items() if r is not None and r["state"] in FINAL_STATES})
            pending = [o for o in pending if o not in final]
            if not pending or time.monotonic() > deadline:
                break
            time.sleep(POLL_S)
    return final, pending


class CheckoutStream:
    """Checkouts sent one after another by `workers` threads until stop(): the load a fault lands in."""

    def __init__(
        self,
        api: str,
        choose_items: Callable[[random.Random], dict[str, int]],
        seed: int,
        workers: int = 2,
        pause_s: float = 0.2,
    ) -> None:
        self.api = api
        self.choose_items = choose_items
        self.pause_s = pause_s
        self.placed: list[Placed] = []
        self.errors: list[BaseException] = []
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._go = threading.Event()  # cleared by hold(): no new checkout starts
        self._go.set()
        self._in_flight = 0
        self._threads = [
            threading.Thread(
                target=self._run, args=(random.Random(seed * 100 + n),), name=f"checkout-stream-{n}", daemon=True
            )
            for n in range(workers)
        ]

    def __enter__(self) -> CheckoutStream:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _run(self, rng: random.Random) -> None:
        while not self._stop.is_set():
            if not self._go.wait(POLL_S):
                continue
            with self._lock:
                self._in_flight += 1
            try:
                placed = place(self.api, self.choose_items(rng), rng)
            except BaseException as error:  # reported by the test, not lost in a thread
                with self._lock:
                    self.errors.append(error)
                    self._in_flight -= 1
                    self._lock.notify_all()
                return
            with self._lock:
                self.placed.append(placed)
                self._in_flight -= 1
                self._lock.notify_all()
            self._stop.wait(self.pause_s)

    def hold(self) -> None:
        """No new checkout starts, and the ones under way have been answered, when this returns."""
        self._go.clear()
        with self._lock:
            if not self._lock.wait_for(lambda: self._in_flight == 0, ANSWER_DEADLINE_S + HTTP_TIMEOUT_S):
                raise TimeoutError("checkouts still under way")

    def resume(self) -> None:
        self._go.set()

    def approved(self) -> int:
        with self._lock:
            return sum(p.approved for p in self.placed)

    def wait_approved(self, count: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while self.approved() < count:
            if self.errors:
                raise self.errors[0]
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {self.approved()} of {count} checkouts approved in {timeout_s:.0f} s")
            time.sleep(POLL_S)

    def stop(self) -> list[Placed]:
        self._stop.set()
        self._go.set()
        for thread in self._threads:
            thread.join(timeout=ANSWER_DEADLINE_S + HTTP_TIMEOUT_S)
        if self.errors:
            raise self.errors[0]
        return list(self.placed)
