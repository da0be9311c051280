"""Acks from concurrent callers sent together: while one AckBatch call is out, new acks gather for the next one.

Group commit without a timer: a lone ack goes at once; acks that finish while a call is out share the next call
(at most batch_max each) and the queue's one commit for it. Each caller blocks until it has ITS result.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import grpc

from utils.pb.order_queue import order_queue_pb2 as pb

SendBatch = Callable[[Sequence[pb.AckRequest]], list[pb.AckResult]]


@dataclass(slots=True)
class _Slot:
    request: pb.AckRequest
    result: pb.AckResult | None = None
    done: threading.Event = field(default_factory=threading.Event)


class AckBatcher:
    """Thread-safe. At most one call is out at a time; the waiting list is bounded by the callers (each waits
    for its own slot), and a call takes at most batch_max slots, oldest first."""

    def __init__(self, send: SendBatch, batch_max: int = 32) -> None:
        if batch_max < 1:
            raise ValueError("batch_max must be >= 1")
        self._send = send
        self._batch_max = batch_max
        self._cond = threading.Condition()
        self._pending: list[_Slot] = []
        self._sending = False
        self.calls = 0  # AckBatch calls made (a figure for tests and benchmarks)

    def pending(self) -> int:
        """Acks waiting for a call (not counting those in the call that is out)."""
        with self._cond:
            return len(self._pending)

    def ack(self, request: pb.AckRequest) -> pb.AckResult:
        """This ack's result; a failed call answers every ack it carried with the call's status code."""
        slot = _Slot(request)
        with self._cond:
            self._pending.append(slot)
        while True:
            with self._cond:
                while self._sending and not slot.done.is_set():
                    self._cond.wait()
                if slot.done.is_set():
                    assert slot.result is not None
                    return slot.result
                self._sending = True
                batch, self._pending = self._pending[: self._batch_max], self._pending[self._batch_max :]
            try:
                self._send_batch(batch)
            finally:
                with self._cond:
                    self._sending = False
                    self._cond.notify_all()

    def _send_batch(self, batch: list[_Slot]) -> None:
        self.calls += 1
        try:
            results = self._send([slot.request for slot in batch])
        except grpc.RpcError as error:
            code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
            detail = error.details() if hasattr(error, "details") else str(error)
            results = [pb.AckResult(code=code.value[0], detail=str(detail)) for _ in batch]
        except Exception as error:  # the caller still hears of it: no ack is left waiting forever
            results = [pb.AckResult(code=grpc.StatusCode.INTERNAL.value[0], detail=repr(error)) for _ in batch]
        assert len(results) == len(batch), "one result per ack"
        for slot, result in zip(batch, results, strict=True):
            slot.result = result
            slot.done.set()
