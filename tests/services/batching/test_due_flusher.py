"""The sender thread of a due batch, on real threads with short bounds: a full batch goes at once and a lone item
after its wait; the thread ends once the batch is empty (unless kept); stopping drops what is held and says how many;
a crashing send is logged and the thread goes on. Waits are conditions with deadlines."""

from __future__ import annotations

import threading
import time

from testing.local_fleet import wait_until
from utils.batching.core.due_batch import DueBatch, DueBatchLimits
from utils.batching.flusher import DueFlusher

LONG = DueBatchLimits(items_per_batch_max=3, wait_max_s=30.0, backlog_max=6)  # only a full batch goes in a test
SHORT = DueBatchLimits(items_per_batch_max=3, wait_max_s=0.05, backlog_max=6)


class Sent:
    def __init__(self) -> None:
        self.batches: list[tuple[int, ...]] = []
        self.lock = threading.Lock()

    def __call__(self, batch: tuple[int, ...]) -> None:
        with self.lock:
            self.batches.append(batch)


def _add(flusher: DueFlusher[int], *items: int) -> list[bool]:
    with flusher.holding() as batch:
        return [batch.add(item, time.monotonic()) for item in items]


def test_a_full_batch_goes_at_once_and_the_thread_ends_once_the_batch_is_empty() -> None:
    sent = Sent()
    flusher: DueFlusher[int] = DueFlusher(DueBatch(LONG), sent, name="test-full")
    assert flusher.idle(), "no thread before an item is held"
    assert _add(flusher, 1, 2) == [True, True]
    assert not flusher.idle() and sent.batches == []
    _add(flusher, 3, 4)
    wait_until(lambda: sent.batches == [(1, 2, 3)], 5.0, "the full batch sent", every_s=0.01)
    assert flusher.pending() == 1  # 4 waits its 30 s
    _add(flusher, 5, 6)
    wait_until(lambda: sent.batches == [(1, 2, 3), (4, 5, 6)], 5.0, "the second full batch sent", every_s=0.01)
    wait_until(flusher.idle, 5.0, "the thread to end with the batch empty", every_s=0.01)


def test_a_lone_item_goes_after_its_wait() -> None:
    sent = Sent()
    flusher: DueFlusher[int] = DueFlusher(DueBatch(SHORT), sent, name="test-lone")
    _add(flusher, 7)
    wait_until(lambda: sent.batches == [(7,)], 5.0, "the lone item sent", every_s=0.01)
    wait_until(flusher.idle, 5.0, "the thread to end", every_s=0.01)


def test_nothing_goes_before_start_and_a_kept_thread_outlives_an_empty_batch() -> None:
    sent = Sent()
    flusher: DueFlusher[int] = DueFlusher(DueBatch(SHORT), sent, name="test-kept", started=False, keep_thread=True)
    _add(flusher, 1)
    assert flusher.idle() and flusher.pending() == 1, "held, not sent, until start()"
    flusher.start()
    wait_until(lambda: sent.batches == [(1,)], 5.0, "the held item sent after start", every_s=0.01)
    assert not flusher.idle(), "a kept thread waits for the next item"
    _add(flusher, 2)
    wait_until(lambda: sent.batches == [(1,), (2,)], 5.0, "the next item sent by the same thread", every_s=0.01)
    flusher.stop()
    wait_until(flusher.idle, 5.0, "stop() to end the kept thread", every_s=0.01)


def test_stopping_drops_what_is_held_and_counts_it() -> None:
    sent, dropped = Sent(), list[int]()
    stopped = threading.Event()
    flusher: DueFlusher[int] = DueFlusher(
        DueBatch(LONG), sent, name="test-stop", stopped=stopped, on_stopped=dropped.append
    )
    _add(flusher, 1, 2)
    stopped.set()  # the owner's flag, set without a word to the flusher: seen when the wait ends or on stop()
    flusher.stop()
    wait_until(flusher.idle, 5.0, "the thread to end", every_s=0.01)
    assert dropped == [2] and flusher.pending() == 0 and sent.batches == []


def test_a_crashing_send_is_logged_and_the_thread_goes_on() -> None:
    sent = Sent()
    calls: list[tuple[int, ...]] = []

    def send(batch: tuple[int, ...]) -> None:
        calls.append(batch)
        if len(calls) == 1:
            raise RuntimeError("a bug in the sender")
        sent(batch)

    flusher: DueFlusher[int] = DueFlusher(DueBatch(LONG), send, name="test-crash")
    _add(flusher, 1, 2, 3, 4, 5, 6)
    wait_until(lambda: sent.batches == [(4, 5, 6)], 5.0, "the second batch sent after the first crashed", every_s=0.01)
    wait_until(flusher.idle, 5.0, "the thread to end", every_s=0.01)
