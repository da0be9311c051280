"""The purge of personal data from the queue's file, on a daemon thread: the rule is core/retention.py's.

Every `scan_every_s` it redacts the orders enqueued longer ago than the retention setting (docs/operations.md).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from order_queue.core.retention import Retention, redact
from order_queue.store import QueueStore
from utils.order.wire import order_from_queue_proto, order_to_queue_proto
from utils.pb.order_queue import order_queue_pb2 as pb

log = logging.getLogger(__name__)


def redact_payload(payload: bytes) -> bytes:
    """A stored order's payload without personal data (the same queue form, everything else kept)."""
    order = order_from_queue_proto(pb.Order.FromString(payload))
    return order_to_queue_proto(redact(order)).SerializeToString()


class RetentionPurge:
    def __init__(self, store: QueueStore, retention: Retention, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._retention = retention
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="queue-retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def purge_once(self) -> int:
        """Redacts what is due now, batch after batch; returns how many orders."""
        total = 0
        cutoff = self._retention.cutoff(self._clock())
        while True:
            done = self._store.redact_older_than(cutoff, redact_payload, self._retention.batch_max)
            total += done
            if done < self._retention.batch_max or self._stop.is_set():
                break
        if total:
            log.info("personal data erased past its retention", extra={"orders": total})
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.purge_once()
            except Exception:  # the next scan tries again; the failure is not silent
                log.exception("retention purge failed")
            self._stop.wait(self._retention.scan_every_s)
