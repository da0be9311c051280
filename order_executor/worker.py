"""The leader's work loop: on election, recover every open transaction; then lease orders and run each as 2PC.

Runs only while this replica leads; when leadership ends, everything started in that term stops at once.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

import grpc

from order_executor.core.decision_log import encode_incarnation
from order_executor.core.order import TxRecord
from order_executor.core.pricing import Unpriceable, price_order
from order_executor.core.recovery import Action, plan_recovery
from order_executor.participants import FenceProbe, NoAnswer
from order_executor.reporting import QueueReporter
from order_executor.transaction_runner import Flight, LostLeadership, Session, TransactionRunner
from order_queue.client import OrderQueueClient
from utils.order.wire import order_from_queue_proto
from utils.pb.order_queue import order_queue_pb2 as queue_pb
from utils.raft.core import Role
from utils.raft.errors import NotLeader, RaftUnavailable
from utils.raft.node import RaftNode
from utils.twopc.core.participant import Fence

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    concurrency_max: int = 8  # transactions run at once by the leader
    lease_s: float = 4.0  # an order not acked within this returns to the queue
    lease_wait_s: float = 1.0  # a LeaseBatch that finds nothing waits this long at the queue for an order
    lease_batch_max: int = 32  # orders one LeaseBatch may take (the queue's lease_batch_max)
    idle_poll_s: float = 0.1  # wait between LeaseBatch calls when the queue answers empty at once, or is down
    recovery_wait_s: float = 10.0  # recovery runs first; leasing starts once it is done or after this long
    fence_poll_s: float = 1.0  # while a participant refuses this group's incarnation, ask again this often
    fence_probe_timeout_s: float = 1.0  # one GetFence call


class FreeSlots:
    """The leader's free transaction slots: counted, so one LeaseBatch can ask for all of them at once."""

    def __init__(self, total: int) -> None:
        if total < 1:
            raise ValueError("total must be >= 1")
        self._total = total
        self._free = total
        self._cond = threading.Condition()

    def wait_free(self, timeout_s: float) -> int:
        """How many are free, after waiting up to timeout_s for one (0 when none freed up)."""
        with self._cond:
            self._cond.wait_for(lambda: self._free > 0, timeout_s)
            return self._free

    def take(self) -> None:
        with self._cond:
            assert self._free > 0, "a transaction started without a free slot"
            self._free -= 1

    def give(self) -> None:
        with self._cond:
            assert self._free < self._total, "a slot given back twice"
            self._free += 1
            self._cond.notify_all()


class Worker:
    def __init__(
        self,
        node_id: str,
        node: RaftNode,
        queue: OrderQueueClient,
        reporter: QueueReporter,
        options: WorkerOptions = WorkerOptions(),
        probes: Sequence[FenceProbe] = (),
        new_incarnation: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._node_id = node_id
        self._node = node
        self._queue = queue
        self._reporter = reporter
        self._runner: TransactionRunner | None = None
        self._options = options
        self._lock = threading.Lock()
        self._session: Session | None = None
        self._draining = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=options.concurrency_max * 2, thread_name_prefix="tx")
        self._probes = tuple(sorted(probes, key=lambda p: p.name))
        self._new_incarnation = new_incarnation
        self._incarnation = ""  # the group's, once read from the log (it never changes after that)
        self._fenced_out = ""  # a participant's refusal of this incarnation; "" while admitted

    def attach(self, runner: TransactionRunner) -> None:
        """The runner needs still_leader() from this worker, so it is built after it."""
        self._runner = runner

    @property
    def runner(self) -> TransactionRunner:
        assert self._runner is not None, "attach() a runner before the node starts"
        return self._runner

    # ---- leadership --------------------------------------------------------------------------------------------------
    def on_role_change(self, role: Role, term: int) -> None:
        """Raft role listener: lead in this term, or stop everything started as leader."""
        with self._lock:
            current = self._session
            if role is Role.LEADER:
                if current is not None and current.term == term:
                    return
                if current is not None:
                    current.stopped.set()
                session = Session(term)
                self._session = session
                threading.Thread(target=self._lead, args=(session,), name=f"lead-{term}", daemon=True).start()
                log.info("leading: recovery, then leasing", extra={"term": term})
            elif current is not None:
                current.stopped.set()
                self._session = None
                log.info("stopped leading", extra={"term": current.term, "role": role.value})

    def still_leader(self, term: int) -> bool:
        status = self._node.status()
        return status.running and status.role is Role.LEADER and status.term == term

    def stop(self, drain_s: float = 3.0) -> None:
        """Graceful stop: lease nothing more, let running transactions finish (bounded), then stop leading.

        Whatever is still running after `drain_s` is finished by the next leader from the log.
        """
        self._draining.set()
        deadline = time.monotonic() + drain_s
        while self.in_flight() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.on_role_change(Role.FOLLOWER, 0)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def incarnation(self) -> str:
        """The group's incarnation for every 2PC message ("" before this replica has read it from the log)."""
        if not self._incarnation:
            try:
                self._incarnation = self._node.read_local(lambda sm: sm.incarnation)[1]
            except RaftUnavailable:
                return ""
        return self._incarnation

    def fenced_out(self) -> str:
        """Non-empty while a participant refuses this group's incarnation (shown by Status and GET /cluster)."""
        return self._fenced_out

    def on_fenced_out(self, refusal: str) -> None:
        """The runner's report of a refusal: leasing pauses until the participants follow this incarnation."""
        if not self._fenced_out:
            log.error("a participant refuses this executor group's incarnation", extra={"refusal": refusal})
        self._fenced_out = refusal

    def in_flight(self) -> list[Flight]:
        session = self._session
        if session is None:
            return []
        with session.lock:
            return list(session.in_flight.values())

    # ---- the leader's loop -------------------------------------------------------------------------------------------
    def _lead(self, session: Session) -> None:
        try:
            self._ensure_incarnation(session)
            self._wait_until_admitted(session)
            self._recover(session)
            self._lease_loop(session)
        except LostLeadership as error:
            log.info("leadership lost", extra={"term": session.term, "why": str(error)})
        except Exception:
            log.exception("leader loop failed", extra={"term": session.term})

    def _ensure_incarnation(self, session: Session) -> None:
        """The group's incarnation is made once, by its first leader, through the log (the first one logged wins)."""
        while True:
            self._check(session)
            try:
                logged: str = self._node.read(lambda sm: sm.incarnation)
                if logged:
                    self._incarnation = logged
                    log.info("executor group incarnation", extra={"incarnation": logged, "term": session.term})
                    return
                self._node.propose(encode_incarnation(self._new_incarnation()), timeout_s=3.0)
            except (NotLeader, RaftUnavailable) as error:
                log.info("incarnation not readable yet", extra={"term": session.term, "error": str(error)})
                session.stopped.wait(0.1)

    def _fence_refusal(self) -> str:
        """A participant's refusal of this incarnation, asked before anything is logged about a transaction: so a
        group that lost its data never presumes abort on what another incarnation may have committed."""
        mine = self._incarnation
        for probe in self._probes:
            try:
                followed, newest = probe.fence(self._options.fence_probe_timeout_s)
            except NoAnswer as error:
                # Unknown is not refused: the participant still checks every message it gets.
                log.info("fence not known", extra={"participant": probe.name, "error": str(error)})
                continue
            fence = Fence(newest, followed)
            if not fence.admits(newest, mine):
                return f"{probe.name}: {fence.refusal(newest, mine)}"
        return ""

    def _wait_until_admitted(self, session: Session) -> None:
        while True:
            self._check(session)
            refusal = self._fence_refusal()
            if not refusal:
                if self._fenced_out:
                    log.warning("the participants follow this incarnation now", extra={"term": session.term})
                self._fenced_out = ""
                return
            self.on_fenced_out(refusal)
            session.stopped.wait(self._options.fence_poll_s)

    def _recover(self, session: Session) -> None:
        # A linearizable read: the new leader has committed an entry of its own term, so every decision an earlier
        # leader got into the log is applied here before we look (Raft §5.4.2, §8).
        while True:
            self._check(session)
            try:
                records: list[TxRecord] = self._node.read(lambda sm: sm.open_records())
                break
            except (NotLeader, RaftUnavailable) as error:
                log.info("recovery read not ready", extra={"term": session.term, "error": str(error)})
                session.stopped.wait(0.1)
        with session.lock:
            running = set(session.in_flight)
        actions = plan_recovery(records, running)
        log.info("recovery planned", extra={"term": session.term, "open": len(records), "actions": len(actions)})
        futures = []
        for action in actions:

            def work(flight: Flight, action: Action = action) -> None:
                self.runner.run_action(session, flight, action)

            futures.append(self._pool.submit(self._run_tracked, session, action.order.order_id, "", work))
        wait(futures, timeout=self._options.recovery_wait_s)

    def _lease_loop(self, session: Session) -> None:
        """One LeaseBatch fills every free slot; on an empty queue the queue itself waits (lease_wait_s) for an
        order, so an idle leader makes about one call per lease_wait_s instead of polling."""
        slots = FreeSlots(self._options.concurrency_max)
        while not session.stopped.is_set() and not self._draining.is_set():
            self._check(session)
            if self._fenced_out:
                self._wait_until_admitted(session)
            free = slots.wait_free(self._options.idle_poll_s)
            if free == 0:
                continue
            asked_at = time.monotonic()
            try:
                leases = self._queue.lease_batch(
                    self._node_id,
                    self._options.lease_s,
                    min(free, self._options.lease_batch_max),
                    self._options.lease_wait_s,
                )
            except grpc.RpcError as error:
                log.warning("lease failed", extra={"code": str(error.code()) if hasattr(error, "code") else "?"})
                session.stopped.wait(self._options.idle_poll_s * 5)
                continue
            if not leases:
                if time.monotonic() - asked_at < self._options.idle_poll_s:  # answered at once: do not spin
                    session.stopped.wait(self._options.idle_poll_s)
                continue
            if session.stopped.is_set() or self._draining.is_set() or not self.still_leader(session.term):
                self._give_back(leases)  # the next leader gets them now, not after lease_s
                self._check(session)
                return
            for leased in leases:
                self._start(session, slots, leased)

    def _start(self, session: Session, slots: FreeSlots, leased: queue_pb.LeaseReply) -> None:
        log.info(
            "order leased",
            extra={"tx_id": leased.order.order_id, "term": session.term, "priority": leased.order.priority},
        )
        if not self._admit(session, leased):
            return
        slots.take()
        future = self._pool.submit(self._run_leased, session, leased)
        future.add_done_callback(lambda _f: slots.give())

    def _give_back(self, leases: Sequence[queue_pb.LeaseReply]) -> None:
        for leased in leases:
            try:
                self._queue.nack(leased.order.order_id, leased.lease_id)
            except grpc.RpcError as error:  # it returns on lease expiry instead
                log.info("could not give a lease back", extra={"tx_id": leased.order.order_id, "error": str(error)})

    def _admit(self, session: Session, leased: queue_pb.LeaseReply) -> bool:
        """False when this leader already runs the order (its lease expired meanwhile): keep the newest lease."""
        with session.lock:
            flight = session.in_flight.get(leased.order.order_id)
            if flight is None:
                session.in_flight[leased.order.order_id] = Flight(leased.order.order_id, leased.lease_id)
                return True
            flight.lease_id = leased.lease_id
            return False

    def _run_leased(self, session: Session, leased: queue_pb.LeaseReply) -> None:
        order_id = leased.order.order_id
        with session.lock:
            flight = session.in_flight[order_id]
        try:
            try:
                order = order_from_queue_proto(leased.order)  # the lease is this edge: the order changes form here
                priced = price_order(order)
            except ValueError as error:
                priced = Unpriceable(str(error))
            if isinstance(priced, Unpriceable):
                log.warning("order cannot be priced", extra={"tx_id": order_id, "reason": priced.reason})
                self.runner.abort_unpriceable(session, flight, order_id, priced.reason)
            else:
                self.runner.run_new(session, flight, priced)
        except LostLeadership as error:
            log.info("transaction left to the next leader", extra={"tx_id": order_id, "why": str(error)})
        except Exception:
            log.exception("transaction failed", extra={"tx_id": order_id})
        finally:
            with session.lock:
                session.in_flight.pop(order_id, None)

    def _run_tracked(self, session: Session, tx_id: str, lease_id: str, work: Callable[[Flight], None]) -> None:
        with session.lock:
            if tx_id in session.in_flight:
                return
            flight = session.in_flight[tx_id] = Flight(tx_id, lease_id)
        try:
            work(flight)
        except LostLeadership as error:
            log.info("recovery left to the next leader", extra={"tx_id": tx_id, "why": str(error)})
        except Exception:
            log.exception("recovery of a transaction failed", extra={"tx_id": tx_id})
        finally:
            with session.lock:
                session.in_flight.pop(tx_id, None)

    def _check(self, session: Session) -> None:
        if session.stopped.is_set() or not self.still_leader(session.term):
            raise LostLeadership(f"no longer leader in term {session.term}")
