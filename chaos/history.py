"""The chaos run's shared, thread-safe log: the load, the poller, the sampler and the faults append to it,
and `snapshot()` freezes it into chaos.records.Observed for the checks.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from chaos.records import FaultRecord, Observed
from testing.evidence import FINAL_STATES, Answer, CheckoutRecord, OrderState, Restock, StatusSample, StockRead


@dataclass
class History:
    """Append-only, shared by the run's threads."""

    checkouts: list[CheckoutRecord] = field(default_factory=list)
    order_states: dict[str, list[OrderState]] = field(default_factory=dict)
    stock_reads: list[StockRead] = field(default_factory=list)
    restocks: list[Restock] = field(default_factory=list)
    status_samples: list[StatusSample] = field(default_factory=list)
    faults: list[FaultRecord] = field(default_factory=list)
    skipped_ticks: int = 0  # the load fell behind: concurrency_max requests were already in flight
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_checkout(self, record: CheckoutRecord) -> None:
        with self._lock:
            self.checkouts.append(record)

    def add_order_state(self, state: OrderState) -> None:
        """Keeps only changes: a state equal to the last one seen for that order is not stored again."""
        with self._lock:
            seen = self.order_states.setdefault(state.order_id, [])
            if not seen or (seen[-1].state, seen[-1].reason) != (state.state, state.reason):
                seen.append(state)

    def add_stock_read(self, read: StockRead) -> None:
        with self._lock:
            self.stock_reads.append(read)

    def add_restock(self, restock: Restock) -> None:
        with self._lock:
            self.restocks.append(restock)

    def add_status_samples(self, samples: list[StatusSample]) -> None:
        with self._lock:
            self.status_samples.extend(samples)

    def add_fault(self, record: FaultRecord) -> None:
        with self._lock:
            self.faults.append(record)

    def count_skipped(self) -> None:
        with self._lock:
            self.skipped_ticks += 1

    def approved_ids(self) -> list[str]:
        with self._lock:
            return [c.order_id for c in self.checkouts if c.answer is Answer.APPROVED and c.order_id]

    def snapshot(self, load_s: float, load_sequence_max: int) -> Observed:
        with self._lock:
            return Observed(
                tuple(self.checkouts),
                {k: tuple(v) for k, v in self.order_states.items()},
                tuple(self.stock_reads),
                tuple(self.restocks),
                tuple(self.status_samples),
                tuple(self.faults),
                self.skipped_ticks,
                load_s,
                load_sequence_max,
            )

    def last_state(self, order_id: str) -> OrderState | None:
        with self._lock:
            seen = self.order_states.get(order_id)
            return seen[-1] if seen else None

    def first_final(self, order_id: str) -> OrderState | None:
        with self._lock:
            return next((s for s in self.order_states.get(order_id, []) if s.state in FINAL_STATES), None)
