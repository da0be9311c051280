"""The load: checkouts started at a fixed rate (open loop) with contention and a mix of valid, rejected and
declined orders; restocks and linearizability stock reads beside them; a poller following every approved order
to its final state. Every request and answer goes into the History with its times.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from chaos.history import History
from chaos.http import NoAnswer, request_json
from chaos.orders import plan_order
from chaos.scenario import LoadProfile
from testing.evidence import FINAL_STATES, Answer, CheckoutRecord, OrderState, Restock, StockRead
from testing.orders import OrderKind, PlannedOrder
from testing.retried_refusals import is_retried, problem_code, refusal_label

log = logging.getLogger("chaos.load")
RETRY_BUDGET_S = 30.0  # a checkout is retried (same Idempotency-Key) this long before "no answer"
RETRY_BACKOFF_S = (0.25, 0.5, 1.0, 2.0)
POLL_EVERY_S = 0.5
POLL_WORKERS = 4
POLL_TIMEOUT_S = 3.0


class Clock:
    """Seconds since the run started (monotonic): every record's time base."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def now_s(self) -> float:
        return time.monotonic() - self.started


@dataclass(frozen=True, slots=True)
class Books:
    hot: list[str]  # few copies, most orders: contention
    cold: list[str]


def send_checkout(
    api: str,
    planned: PlannedOrder,
    sequence: int,
    clock: Clock,
    timeout_s: float,
    retry_budget_s: float = RETRY_BUDGET_S,
) -> CheckoutRecord:
    """POSTs one checkout, retrying a refusal (testing/retried_refusals.py) or no answer with the same
    Idempotency-Key, as a careful client would; each refusal met is kept in the record."""
    key = f"chaos-{uuid.uuid4().hex}"
    sent = clock.now_s()
    ids: list[str] = []
    refused: list[str] = []
    attempts, status, detail, code = 0, None, "", ""
    while True:
        attempts += 1
        try:
            answer = request_json("POST", f"{api}/checkout", planned.body, {"Idempotency-Key": key}, timeout_s)
            status, body = answer.status, answer.body if isinstance(answer.body, dict) else {}
            if status == 200 and body.get("orderId"):
                ids.append(str(body["orderId"]))
                approved = body.get("status") == "Order Approved"
                return CheckoutRecord(
                    sequence,
                    planned.kind,
                    planned.items,
                    sent,
                    clock.now_s(),
                    Answer.APPROVED if approved else Answer.REJECTED,
                    ids[0],
                    status,
                    attempts,
                    "; ".join(body.get("reasons") or []),
                    tuple(ids[1:]),
                    refused=tuple(refused),
                )
            detail = str(body.get("detail") or body.get("title") or f"HTTP {status}")
            code = problem_code(body)
            if not is_retried(status):
                break
            refused.append(refusal_label(status, body))
        except NoAnswer as failure:
            status, detail, code = None, f"no answer: {failure}", ""
        if clock.now_s() - sent > retry_budget_s:
            break
        time.sleep(RETRY_BACKOFF_S[min(attempts - 1, len(RETRY_BACKOFF_S) - 1)])
    answer_kind = Answer.NO_ANSWER if status is None else Answer.REFUSED
    return CheckoutRecord(
        sequence,
        planned.kind,
        planned.items,
        sent,
        clock.now_s(),
        answer_kind,
        None,
        status,
        attempts,
        detail,
        error_code=code,
        refused=tuple(refused),
    )


def poll_order(api: str, order_id: str, clock: Clock) -> OrderState | None:
    try:
        answer = request_json("GET", f"{api}/orders/{order_id}", timeout_s=POLL_TIMEOUT_S)
    except NoAnswer:
        return None
    if answer.status == 404:
        return OrderState(order_id, "UNKNOWN", "", None, clock.now_s())
    if answer.status != 200 or not isinstance(answer.body, dict):
        return None
    body = answer.body
    total = body.get("total")
    return OrderState(
        order_id,
        str(body.get("state")),
        str(body.get("reason") or ""),
        None if total is None else str(total),
        clock.now_s(),
    )


class Load:
    """Runs the load threads until `stop()`; the poller keeps following orders until `stop_polling()`."""

    def __init__(
        self,
        api: str,
        profile: LoadProfile,
        seed: int,
        books: Books,
        history: History,
        clock: Clock,
        read_stock: Callable[[str], int],
    ) -> None:
        self.api = api
        self.profile = profile
        self.books = books
        self.history = history
        self.clock = clock
        self.read_stock = read_stock
        self.order_rng = random.Random(f"{seed}:orders")
        self.side_rng = random.Random(f"{seed}:restocks")
        self._stop = threading.Event()
        self._stop_polling = threading.Event()
        self._in_flight = threading.Semaphore(profile.concurrency_max)
        self._pool = ThreadPoolExecutor(max_workers=profile.concurrency_max, thread_name_prefix="chaos-checkout")
        self._threads: list[threading.Thread] = []
        self._sequence = 0

    def start(self) -> None:
        for target, name in (
            (self._tick, "chaos-ticker"),
            (self._restock_loop, "chaos-restock"),
            (self._read_loop, "chaos-reads"),
        ):
            self._spawn(target, name)
        self._spawn(self._poll_loop, "chaos-poller")

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        """Stops new checkouts, restocks and reads; waits for the checkouts in flight to be answered."""
        self._stop.set()
        self._pool.shutdown(wait=True)

    def stop_polling(self) -> None:
        self._stop_polling.set()
        for thread in self._threads:
            thread.join(timeout=10)

    @property
    def sequence(self) -> int:
        """The number of the last checkout planned."""
        return self._sequence

    def next_planned(self, kind: OrderKind | None = None, books: Books | None = None) -> tuple[int, PlannedOrder]:
        self._sequence += 1
        chosen = books or self.books
        return self._sequence, plan_order(self.order_rng, self.profile, chosen.hot, chosen.cold, self._sequence, kind)

    def submit(self, sequence: int, planned: PlannedOrder) -> None:
        """Sends one checkout on the pool; blocks while concurrency_max are in flight."""
        self._in_flight.acquire()
        self._pool.submit(self._send, sequence, planned)

    def send_now(self, sequence: int, planned: PlannedOrder) -> CheckoutRecord:
        record = send_checkout(self.api, planned, sequence, self.clock, self.profile.request_timeout_s)
        self.history.add_checkout(record)
        return record

    def _send(self, sequence: int, planned: PlannedOrder) -> None:
        try:
            self.send_now(sequence, planned)
        except Exception:  # a bug here must not stop the load silently
            log.exception("checkout failed in the client")
        finally:
            self._in_flight.release()

    def _tick(self) -> None:
        period_s = 1.0 / self.profile.rate_per_s
        next_at = time.monotonic()
        while not self._stop.is_set():
            sequence, planned = self.next_planned()  # drawn even when skipped: the order stream stays seeded
            if self._in_flight.acquire(blocking=False):
                self._pool.submit(self._send, sequence, planned)
            else:
                self.history.count_skipped()
            next_at += period_s
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def _restock_loop(self) -> None:
        while not self._stop.wait(self.profile.restock_every_s):
            book_id = self.side_rng.choice(self.books.hot)
            amount = self.side_rng.randint(1, self.profile.restock_amount_max)
            call = self.clock.now_s()
            try:
                answer = request_json(
                    "POST",
                    f"{self.api}/stock/increment",
                    {"book_id": book_id, "amount": amount},
                    timeout_s=self.profile.request_timeout_s,
                )
                acknowledged = (
                    answer.status == 200 and isinstance(answer.body, dict) and answer.body.get("status") == "Success"
                )
                self.history.add_restock(Restock(book_id, amount, call, self.clock.now_s(), acknowledged))
            except NoAnswer:
                self.history.add_restock(Restock(book_id, amount, call, None, False))

    def _read_loop(self) -> None:
        while not self._stop.wait(self.profile.stock_read_every_s):
            book_id = self.side_rng.choice(self.books.hot)
            call = self.clock.now_s()
            try:
                quantity = self.read_stock(book_id)
            except Exception:  # a failed read has no effect: nothing to record
                continue
            self.history.add_stock_read(StockRead(book_id, call, self.clock.now_s(), quantity))

    def _poll_loop(self) -> None:
        with ThreadPoolExecutor(max_workers=POLL_WORKERS, thread_name_prefix="chaos-poll") as pool:
            while not self._stop_polling.wait(POLL_EVERY_S):
                pending = [
                    i
                    for i in self.history.approved_ids()
                    if (last := self.history.last_state(i)) is None or last.state not in FINAL_STATES
                ]
                for state in pool.map(lambda i: poll_order(self.api, i, self.clock), pending):
                    if state is not None:
                        self.history.add_order_state(state)

    def pending_orders(self) -> list[str]:
        return [
            i
            for i in self.history.approved_ids()
            if (last := self.history.last_state(i)) is None or last.state not in FINAL_STATES
        ]
