"""One chaos run from start to verdict: wait for a ready fleet, read the initial stock, run the load with the
fault schedule, heal, let every order settle, sell the last copies of one book, collect the participants'
evidence, check the invariants and build the report.
"""

from __future__ import annotations

import functools
import logging
import random
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TextIO

from chaos.collect import Participants
from chaos.dump import write_history
from chaos.fault_runner import FaultRunner
from chaos.fleets import FleetHandle, wait_api
from chaos.history import History
from chaos.http import NoAnswer, request_json
from chaos.load import Books, Clock, Load, poll_order
from chaos.observe import Sampler, StatusProbe
from chaos.orders import with_quantity
from chaos.records import Observed
from chaos.report import Report, build_report
from chaos.scenario import FaultKind, Options, build_schedule
from chaos.stock_history import check_stock_reads
from testing.evidence import FINAL_STATES, Answer, BookStock, CheckoutRecord, Evidence, LastCopies, Restock
from testing.invariants import check_all
from testing.orders import OrderKind

log = logging.getLogger("chaos.run")
READY_TIMEOUT_S = 60.0
LOST_WAIT_EXTRA_S = 30.0  # after the I3 deadline, wait this much longer to tell "late" from "lost"
PROGRESS_EVERY_S = 10.0


def choose_books(initial: dict[str, int], hot_count: int) -> tuple[str, Books]:
    """The burst book (fewest copies), then the hot books (next fewest), the rest cold; ties by id."""
    ordered = sorted(initial, key=lambda b: (initial[b], b))
    if len(ordered) < hot_count + 2:
        raise RuntimeError(f"need at least {hot_count + 2} books, the database has {len(ordered)}")
    return ordered[0], Books(hot=ordered[1 : 1 + hot_count], cold=ordered[1 + hot_count :])


def wait_until(condition: Callable[[], bool], timeout_s: float, every_s: float = 0.3) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(every_s)
    return True


class ChaosRun:
    def __init__(
        self, options: Options, handle: FleetHandle, progress: TextIO = sys.stderr, history_path: Path | None = None
    ) -> None:
        if options.faults and handle.injector is None:
            raise ValueError(f"the {handle.kind} fleet cannot be hurt: run with --faults none")
        self.options = options
        self.handle = handle
        self.progress = progress
        self.history_path = history_path
        self.clock = Clock()
        self.history = History()
        self.observed: Observed | None = None  # the frozen record, once the load has stopped (the HTML report's)
        self.notes: list[str] = []
        self.participants = Participants(
            lambda: handle.payment_addr, lambda: handle.database_peers, lambda: handle.executor_peers
        )
        self.probe = StatusProbe(handle.groups)

    def say(self, text: str) -> None:
        print(f"[{self.clock.now_s():6.1f}s] {text}", file=self.progress, flush=True)

    def execute(self) -> Report:
        try:
            return self._execute()
        finally:
            self.probe.close()
            self.participants.close()

    def _execute(self) -> Report:
        options = self.options
        schedule = build_schedule(options, random.Random(options.seed))
        self.say(f"seed {options.seed}: {len(schedule)} faults planned")
        for event in schedule:
            self.say(f"  {event.describe()}")
        self._wait_ready()
        initial = self.participants.stock()
        if any(s.reserved for s in initial.values()):
            self.notes.append("copies were already reserved when the run started (an earlier order in flight?)")
        initial_stock = {b: s.stock for b, s in initial.items()}
        burst_book, books = choose_books(initial_stock, options.load.hot_books)
        self.say(f"hot books: {', '.join(books.hot)}")

        sampler = Sampler(self.probe, self.history, self.clock)
        sampler.start()
        load = Load(
            self.handle.api, options.load, options.seed, books, self.history, self.clock, self.participants.read_stock
        )
        load_started = self.clock.now_s()
        load.start()
        runner = (
            FaultRunner(
                schedule,
                self.handle.injector,  # type: ignore[arg-type]
                self.probe,
                self.handle.nodes,
                self.history,
                self.clock,
                options.seed,
                load_started,
            )
            if schedule
            else None
        )
        if runner is not None:
            runner.start()
        self._show_progress(load, load_started + options.duration_s)
        load.stop()
        load_stopped, load_sequence_max = self.clock.now_s(), load.sequence
        if runner is not None:
            runner.stop()
        if self.handle.injector is not None:
            self.handle.injector.heal_all()
        healed_at = self.clock.now_s()
        self.say(f"load stopped after {load_stopped - load_started:.0f} s, all healed; waiting for orders to settle")
        settled = wait_until(lambda: not load.pending_orders(), options.settle_s + LOST_WAIT_EXTRA_S)
        if not settled:
            self.say(f"{len(load.pending_orders())} orders still not final")
        last_copies = self._last_copies(load, burst_book) if options.last_copies else None
        load.stop_polling()
        self._final_poll(load)
        sampler.stop()

        self.say("collecting evidence from the participants")
        observed = self.observed = self.history.snapshot(load_stopped - load_started, load_sequence_max)
        if self.history_path is not None:
            write_history(observed, self.history_path)
        order_ids = [c.order_id for c in observed.checkouts if c.order_id]
        payments, transactions = self.participants.facts(order_ids)
        evidence = Evidence(
            initial_stock,
            self._final_stock(),
            payments,
            transactions,
            healed_at,
            options.settle_s,
            tuple(self.participants.replicas()),
            last_copies,
            tuple(self.notes),
        )
        self.say("checking linearizability of stock reads")
        linearizability, verdict = check_stock_reads(observed, initial_stock)
        violations = check_all(observed, evidence, linearizability)
        return build_report(options, self.handle.kind, observed, evidence, violations, verdict)

    def _has_leader(self, group: str) -> bool:
        return self.probe.leader(group) is not None

    def _wait_ready(self) -> None:
        wait_api(self.handle.api, READY_TIMEOUT_S)
        for group in ("books_database", "order_executor"):
            if not wait_until(functools.partial(self._has_leader, group), READY_TIMEOUT_S):
                raise TimeoutError(f"no {group} leader within {READY_TIMEOUT_S:.0f} s")

    def _final_stock(self) -> dict[str, BookStock]:
        try:
            return self.participants.stock()
        except Exception as error:
            self.notes.append(f"final stock unreadable: {error}")
            return {}

    def _show_progress(self, load: Load, until_s: float) -> None:
        while (left := until_s - self.clock.now_s()) > 0:
            time.sleep(min(PROGRESS_EVERY_S, left))
            checkouts = list(self.history.checkouts)
            approved = sum(1 for c in checkouts if c.answer is Answer.APPROVED)
            self.say(
                f"{len(checkouts)} answered, {approved} approved, {len(load.pending_orders())} not final yet, "
                f"{len(self.history.faults)} faults done"
            )

    def _final_poll(self, load: Load) -> None:
        """One more look at every approved order: a final state must still be the same (I3)."""
        ids = self.history.approved_ids()
        with ThreadPoolExecutor(max_workers=8) as pool:
            for state in pool.map(lambda i: poll_order(self.handle.api, i, self.clock), ids):
                if state is not None:
                    self.history.add_order_state(state)

    def _last_copies(self, load: Load, book_id: str) -> LastCopies | None:
        """I5: bring one book (no other order touches it) to exactly k copies, then `buyers` buy one each at once."""
        options = self.options
        copies, buyers = options.last_copies, options.last_copies_buyers
        single = Books(hot=[book_id], cold=[])
        on_hand = self.participants.read_stock(book_id)
        if on_hand > copies:
            sequence, planned = load.next_planned(OrderKind.VALID, single)
            planned = with_quantity(planned, on_hand - copies)
            record = load.send_now(sequence, planned)
            if not self._wait_final(load, [record]) or not self._committed(record):
                self.notes.append(f"last-copies burst skipped: buying {book_id} down to {copies} did not commit")
                return None
        elif on_hand < copies:
            call = self.clock.now_s()
            try:
                answer = request_json(
                    "POST", f"{self.handle.api}/stock/increment", {"book_id": book_id, "amount": copies - on_hand}
                )
                ok = answer.status == 200
            except NoAnswer:
                ok = False
            self.history.add_restock(Restock(book_id, copies - on_hand, call, self.clock.now_s(), ok))
            if not ok:
                self.notes.append("last-copies burst skipped: the restock was not acknowledged")
                return None
        self.say(f"last copies: {buyers} buyers for {copies} copies of {book_id}")
        burst = [load.next_planned(OrderKind.VALID, single) for _ in range(buyers)]
        with ThreadPoolExecutor(max_workers=buyers) as pool:
            records = list(pool.map(lambda p: load.send_now(p[0], with_quantity(p[1], 1)), burst))
        approved = [r for r in records if r.answer is Answer.APPROVED]
        self._wait_final(load, approved)
        finals = [self.history.last_state(r.order_id or "") for r in approved]
        committed = sum(1 for s in finals if s is not None and s.state == "COMMITTED")
        unfinished = sum(1 for s in finals if s is None or s.state not in FINAL_STATES)
        return LastCopies(
            book_id, copies, buyers, len(approved), committed, self.participants.read_stock(book_id), unfinished
        )

    def _wait_final(self, load: Load, records: list[CheckoutRecord]) -> bool:
        def done() -> bool:
            states = [self.history.last_state(r.order_id or "") for r in records]
            return all(s is not None and s.state in FINAL_STATES for s in states)

        return wait_until(done, self.options.settle_s + LOST_WAIT_EXTRA_S)

    def _committed(self, record: CheckoutRecord) -> bool:
        state = self.history.last_state(record.order_id or "")
        return state is not None and state.state == "COMMITTED"


def faults_supported(options: Options, handle: FleetHandle) -> list[str]:
    """Warnings for faults this fleet cannot inject (they are reported as not injected, not counted)."""
    warnings = []
    if FaultKind.ISOLATE in options.faults and handle.injector is not None:
        problem = handle.injector.cannot_isolate()
        if problem:
            warnings.append(f"isolate: {problem}")
    return warnings
