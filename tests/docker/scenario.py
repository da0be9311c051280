"""One fault test's frame: snapshot the stock, run a checkout stream for the fault to land in, heal, then a
last-copies burst, wait for every approved order to end, ask the participants, and check I1–I5.

I3's bound is docs/design.md §6's: every approved order final within SETTLE_S of the faults healing (or of its own
approval, for orders approved later).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Protocol

import requests

from testing.retried_refusals import count_refusals
from tests.docker.invariants import Outcome, check, last_copies_of
from tests.docker.orders import CheckoutStream, Placed, order_state, place, wait_final

PROBE_SCRIPT = (Path(__file__).parent / "probe.py").read_text()
SETTLE_S = 10.0  # docs/design.md §6 I3
POLL_SLACK_S = 2.0  # the poller looks every 0.4 s; docker exec and HTTP under load add more
LATE_WAIT_S = 60.0  # after a miss, how long to keep looking (to tell "late" from "lost")
PROGRESS_TIMEOUT_S = 90.0
STREAM_STOCK = 150  # each stream book is topped up to this many copies before a test
STREAM_PAUSE_S = 0.5  # between one worker's checkouts: ~1–2 a second from two workers
LAST_COPIES = 3  # I5: the last k copies, with k + 2 concurrent buyers
EXTRA_BUYERS = 2
# Books with plenty of stock for the streams (the catalog's larger stocks).
STREAM_BOOKS = (
    "book_101_clean_code",
    "book_102_pragmatic_programmer",
    "book_103_design_patterns",
    "book_106_refactoring",
    "book_114_designing_data_intensive",
    "book_117_building_microservices",
    "book_121_phoenix_project",
)


class Fleet(Protocol):
    """What a fault run needs of a fleet: the compose fleet (compose_fleet.py) and the Swarm stack (swarm_stack.py)."""

    @property
    def api(self) -> str: ...
    @property
    def operator_token(self) -> str: ...  # the gateway's operator credential (stock writes)
    def cluster(self) -> dict[str, Any]: ...
    def operator_python(self, script: str, *args: str) -> str: ...


def restock(fleet: Fleet, book_ids: tuple[str, ...], level: int) -> None:
    """Tops the stream's books up to `level` (POST /stock/increment), so a stream aborts for stock rarely;
    done before the test's snapshot, so I1 sees no restock during the test."""
    deadline = time.monotonic() + PROGRESS_TIMEOUT_S
    while True:  # GET /books shows stock null while the database does not answer (a leader change)
        books = {b["bookId"]: b["stock"] for b in requests.get(f"{fleet.api}/books", timeout=10).json()["books"]}
        if all(books[b] is not None for b in book_ids):
            break
        assert time.monotonic() < deadline, f"the stock stayed unknown for {PROGRESS_TIMEOUT_S:.0f} s"
        time.sleep(0.5)
    for book_id in book_ids:
        if books[book_id] < level:
            reply = requests.post(
                f"{fleet.api}/stock/increment",
                timeout=10,
                json={"book_id": book_id, "amount": level - books[book_id]},
                headers={"Authorization": f"Bearer {fleet.operator_token}"},
            )
            assert reply.status_code == 200, f"restock of {book_id}: {reply.status_code} {reply.text[:200]}"


def probe(fleet: Fleet, order_ids: list[str]) -> dict[str, Any]:
    return dict(json.loads(fleet.operator_python(PROBE_SCRIPT, *order_ids)))


def stream_items(rng: random.Random) -> dict[str, int]:
    books = rng.sample(STREAM_BOOKS, rng.choice((1, 1, 2)))
    return {book_id: rng.choice((1, 1, 2)) for book_id in books}


class FaultRun:
    """`with FaultRun(fleet, seed, burst_book) as run:` starts the stream; inside, inject and heal the fault
    (call `healed()` once it is undone); `run.verify()` after the block checks everything."""

    def __init__(self, fleet: Fleet, seed: int, burst_book: str, workers: int = 2) -> None:
        self.fleet = fleet
        self.seed = seed
        self.burst_book = burst_book
        self.rng = random.Random(seed)
        self.stream = CheckoutStream(fleet.api, stream_items, seed, workers=workers, pause_s=STREAM_PAUSE_S)
        self.stock_before: dict[str, dict[str, int]] = {}
        self.fault_at = 0.0
        self.healed_at = 0.0
        self.stream_done_at = 0.0
        self.placed: list[Placed] = []
        print(f"\n[{time.strftime('%X')}] scenario seed {seed}", flush=True)

    def __enter__(self) -> FaultRun:
        restock(self.fleet, STREAM_BOOKS, STREAM_STOCK)
        self.stock_before = probe(self.fleet, [])["stock"]
        self.stream.__enter__()
        self.stream.wait_approved(2, PROGRESS_TIMEOUT_S)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.placed = self.stream.stop()
        self.stream_done_at = time.monotonic()

    def fault(self, what: str) -> None:
        self.fault_at = time.monotonic()
        print(f"[{time.strftime('%X')}] fault: {what} ({self.stream.approved()} approved so far)", flush=True)

    def healed(self) -> None:
        self.healed_at = time.monotonic()
        print(f"[{time.strftime('%X')}] healed after {self.healed_at - self.fault_at:.1f} s", flush=True)

    def wait_commit_since_fault(self, timeout_s: float = PROGRESS_TIMEOUT_S) -> str:
        """An order approved after the fault began has committed: the system makes progress through it."""
        deadline = time.monotonic() + timeout_s
        seen = len(self.stream.placed)
        while time.monotonic() < deadline:
            for placed in list(self.stream.placed)[seen:]:
                record = order_state(self.fleet.api, placed.order_id) if placed.approved and placed.order_id else None
                if record is not None and record["state"] == "COMMITTED":
                    print(f"[{time.strftime('%X')}] an order placed during the fault committed", flush=True)
                    return str(placed.order_id)
            time.sleep(0.5)
        raise AssertionError(f"no order placed during the fault committed within {timeout_s:.0f} s")

    def last_copies(self) -> list[Placed]:
        """Buys the burst book down to LAST_COPIES, then LAST_COPIES + EXTRA_BUYERS buy one each, at once."""
        on_hand = self.stock_before[self.burst_book]["stock"]
        bulk = place(self.fleet.api, {self.burst_book: on_hand - LAST_COPIES}, self.rng)
        assert bulk.approved and bulk.order_id, f"the bulk order was not approved: {bulk}"
        final, pending = wait_final(self.fleet.api, [bulk.order_id], SETTLE_S * 3)
        assert final.get(bulk.order_id, {}).get("state") == "COMMITTED", f"bulk order ended {final or pending}"
        burst: list[Placed] = []
        lock = threading.Lock()

        def buy(seed: int) -> None:
            one = place(self.fleet.api, {self.burst_book: 1}, random.Random(seed))
            with lock:
                burst.append(one)

        threads = [
            threading.Thread(target=buy, args=(self.seed * 1000 + n,)) for n in range(LAST_COPIES + EXTRA_BUYERS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return [bulk, *burst]

    def verify(self, groups: tuple[str, ...]) -> dict[str, Any]:
        """I3 first (timed from the healing), then, once `groups` are whole again, the last-copies burst; then
        ask the participants and check I1–I5. Fails with every violation found; returns the figures."""
        assert self.healed_at and self.stream_done_at, "verify() after the with block, which calls healed()"
        approved = [p.order_id for p in self.placed if p.approved and p.order_id]
        since = max(self.healed_at, self.stream_done_at)
        left_s = since + SETTLE_S + POLL_SLACK_S - time.monotonic()
        final, pending = wait_final(self.fleet.api, approved, max(left_s, 0.5))
        late_s: dict[str, float] = {}
        notes: list[str] = []
        if pending:  # tell "late" from "lost": keep looking a while longer
            late, lost = wait_final(self.fleet.api, pending, LATE_WAIT_S)
            final.update(late)
            # Seen final only after the deadline: later than the settle time allows, however late exactly.
            late_s = {order_id: max(time.monotonic() - since, SETTLE_S + POLL_SLACK_S) for order_id in late}
            notes.append(
                f"(of {len(pending)} not final {SETTLE_S:.0f} s after healing, {len(late)} ended within "
                f"{LATE_WAIT_S:.0f} s more; {len(lost)} never did)"
            )
        print(
            f"[{time.strftime('%X')}] {len(approved) - len(pending)} of {len(approved)} approved orders final "
            f"{time.monotonic() - since:.1f} s after healing",
            flush=True,
        )
        for group in groups:
            group_whole(self.fleet, group)
        burst = self.last_copies()
        burst_ids = [p.order_id for p in burst if p.approved and p.order_id]
        burst_final, _burst_pending = wait_final(self.fleet.api, burst_ids, SETTLE_S * 3)
        final.update(burst_final)
        facts = probe(self.fleet, [p.order_id for p in [*self.placed, *burst] if p.order_id])
        outcome = Outcome([*self.placed, *burst], final, late_s, self.stock_before, facts, SETTLE_S)
        last_copies = last_copies_of(
            self.burst_book, LAST_COPIES, burst[1:], final, facts["stock"][self.burst_book]["stock"]
        )
        problems = check(outcome, last_copies)
        problems += notes if problems else []
        states: dict[str, int] = {}
        for record in final.values():
            states[record["state"]] = states.get(record["state"], 0) + 1
        figures = {
            "checkouts": len(self.placed) + len(burst),
            "approved": len(approved) + len(burst_ids),
            "states": states,
            # The burst's too: a "not placed" answer retried there is what would explain copies gone unaccounted.
            "answers lost": dict(Counter(a for p in [*self.placed, *burst] for a in p.ambiguous)),
            "refused, retried": count_refusals(p.refused for p in [*self.placed, *burst]),
        }
        print(f"[{time.strftime('%X')}] verified: {figures}", flush=True)
        assert not problems, f"invariants violated (seed {self.seed}):\n  " + "\n  ".join(problems)
        return figures


def group_whole(fleet: Fleet, group: str, timeout_s: float = PROGRESS_TIMEOUT_S) -> None:
    """Every replica of `group` answers again and follows one leader."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = fleet.cluster()["groups"][group]
            leader = last["leaderId"]
            if leader and all(
                r["role"] in ("leader", "follower") and r["leaderId"] == leader for r in last["replicas"]
            ):
                return
        except Exception as error:  # the gateway itself may be restarting
            last = error
        time.sleep(0.5)
    raise AssertionError(f"{group} not whole again within {timeout_s:.0f} s: {last}")
