"""RaftNode: the API a service uses to replicate its state machine over a static group of peers.

It owns the storage, the driver loop, one sender per peer and the gRPC servicer the service registers
on its own server. propose() and read() block the calling thread (bounded) and are safe from any thread.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
import queue
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import grpc

from utils.pb.raft import raft_pb2_grpc
from utils.raft.core import Message, Role
from utils.raft.driver import Driver
from utils.raft.drops import DropCounter
from utils.raft.errors import NotLeader, RaftUnavailable
from utils.raft.options import RaftOptions
from utils.raft.peer import PeerSender
from utils.raft.state_machine import StateMachine
from utils.raft.status import RaftStatus
from utils.raft.storage import RaftStorage
from utils.raft.transport import PeerExchange, RaftServicer
from utils.rpc.trust import installed_trust
from utils.tls import FleetTls

log = logging.getLogger(__name__)
T = TypeVar("T")
RoleListener = Callable[[Role, int], None]


class RaftNode:
    def __init__(
        self,
        node_id: str,
        peers: dict[str, str],
        data_dir: Path,
        state_machine: StateMachine,
        options: RaftOptions = RaftOptions(),
        rng: random.Random | None = None,
        tls: FleetTls | None = None,  # None: the process's TLS folder, presenting `node_id`
    ) -> None:
        if node_id not in peers:
            raise ValueError(f"peers must include this node ({node_id!r}); got {sorted(peers)}")
        for peer_id, address in peers.items():
            if not peer_id or ":" not in address:
                raise ValueError(f"peer {peer_id!r} needs an id and a host:port address, got {address!r}")
        self.node_id = node_id
        self._peers = dict(peers)
        self._data_dir = Path(data_dir)
        self._sm = state_machine
        self._options = options
        self._rng = rng if rng is not None else random.Random()
        self._tls = tls
        self._driver: Driver | None = None
        self._storage: RaftStorage | None = None
        self._senders: dict[str, PeerSender] = {}
        self._listeners: list[RoleListener] = []
        self._notifications: queue.Queue[tuple[Role, int] | None] = queue.Queue()
        self._notifier: threading.Thread | None = None
        self._read_ids = itertools.count(1)
        self._lock = threading.Lock()  # start/stop
        self._drops = DropCounter(node_id)  # one count of dropped peer messages for the driver and transport
        self._servicer = RaftServicer(node_id, frozenset(peers) - {node_id}, self._exchange, self.status, self._drops)

    # ---- wiring and life cycle -----------------------------------------------------------------

    def register(self, server: grpc.Server) -> None:
        """Adds the Raft peer service to the service's own gRPC server (call before server.start())."""
        raft_pb2_grpc.add_RaftServicer_to_server(self._servicer, server)

    def start(self) -> None:
        with self._lock:
            if self._driver is not None:
                raise RuntimeError("RaftNode already started")
            o = self._options
            tls = self._tls or installed_trust().tls.as_identity(self.node_id)
            config = o.core_config(self.node_id, tuple(sorted(self._peers)))
            self._storage = RaftStorage(self._data_dir)
            driver = Driver(
                config, self._peers, o, self._storage, self._sm, self._send, self._notify, self._rng, self._drops
            )
            self._senders = {
                peer_id: PeerSender(peer_id, address, o, driver.deliver, self._drops, tls)
                for peer_id, address in sorted(self._peers.items())
                if peer_id != self.node_id
            }
            for sender in self._senders.values():
                sender.start()
            self._notifier = threading.Thread(target=self._run_notifier, name=f"raft-roles-{self.node_id}", daemon=True)
            self._notifier.start()
            driver.start()
            self._driver = driver
            log.info(
                "raft node started",
                extra={"node": self.node_id, "term": driver.status.term, "applied": driver.status.applied_index},
            )

    def stop(self, transfer_leadership: bool = True) -> None:
        """Stops the node; a leader first hands leadership to its most caught-up follower (no election gap)."""
        with self._lock:
            driver = self._driver
            if driver is None:
                return
            if transfer_leadership and driver.running and driver.status.role is Role.LEADER:
                self._transfer_before_stop(driver)
            self._driver = None
            stopped = driver.stop()
            for sender in self._senders.values():
                sender.stop()
            self._notifications.put(None)
            if self._notifier is not None:
                self._notifier.join(timeout=self._options.stop_timeout_s)
            assert self._storage is not None
            if stopped:  # else the loop may still be writing: leave the file to the process exit
                self._storage.close()
            log.info("raft node stopped", extra={"node": self.node_id})

    def _transfer_before_stop(self, driver: Driver) -> None:
        # Only a follower heard from within an election timeout can take over: with none (the last
        # replica running, or every peer stopping at once) waiting for a transfer only delays the stop.
        silence_max_s = self._options.election_ticks * self._options.tick_s
        now = time.monotonic()
        status = driver.status
        followers = {
            p: m
            for p, m in status.match_index.items()
            if p != self.node_id and now - status.peer_heard_at_s.get(p, -math.inf) <= silence_max_s
        }
        if not followers:
            log.info(
                "no live follower to hand leadership to; stopping without a transfer", extra={"node": self.node_id}
            )
            return
        target = max(sorted(followers), key=lambda p: followers[p])  # most caught up; ties by id
        sender = self._senders[target]
        sent_seen, failed_seen = sender.sent_rpcs, sender.failed_rpcs
        deadline = now + self._options.transfer_timeout_s
        try:
            driver.transfer_leadership(target).result(timeout=self._options.transfer_timeout_s)
        except (RaftUnavailable, NotLeader, TimeoutError) as error:
            log.warning("leadership transfer not started", extra={"node": self.node_id, "error": str(error)})
            return
        # Keep answering votes and appends until the new leader has taken over.
        transfer_seen = False
        while time.monotonic() < deadline:
            status = driver.status
            if status.role is not Role.LEADER and status.leader_id not in (None, self.node_id):
                log.info("leadership transferred", extra={"node": self.node_id, "to": status.leader_id})
                return
            if status.role is Role.LEADER:  # role and transferee from one consistent view of the core
                transfer_seen = transfer_seen or status.transferee == target
                if transfer_seen and status.transferee is None:
                    log.warning("leadership transfer abandoned", extra={"node": self.node_id, "target": target})
                    return  # the core gave up after an election timeout: the target never caught up
                # Our RPCs to the target fail and none got through since: it is down, or stopping too.
                if sender.sent_rpcs != sent_seen:
                    sent_seen, failed_seen = sender.sent_rpcs, sender.failed_rpcs
                lost = sender.failed_rpcs > failed_seen
            else:
                # Deposed by the target's campaign: it should win at once and append to us.
                lost = time.monotonic() - status.peer_heard_at_s.get(target, -math.inf) > silence_max_s
            if lost:
                log.warning("leadership transfer target unreachable", extra={"node": self.node_id, "target": target})
                return
            time.sleep(self._options.tick_s / 5)
        log.warning("leadership transfer timed out", extra={"node": self.node_id, "target": target})

    def _exchange(self) -> PeerExchange | None:
        return self._driver

    def _send(self, message: Message) -> None:
        self._senders[message.recipient].send(message)

    # ---- role listeners ------------------------------------------------------------------------

    def add_role_listener(self, callback: RoleListener) -> None:
        """callback(role, term) runs on a dedicated thread after every role change, in order."""
        self._listeners.append(callback)

    def _notify(self, role: Role, term: int) -> None:
        self._notifications.put((role, term))

    def _run_notifier(self) -> None:
        while (change := self._notifications.get()) is not None:
            for callback in list(self._listeners):
                try:
                    callback(*change)
                except Exception:
                    log.exception("raft role listener failed", extra={"node": self.node_id})

    # ---- the service's calls -------------------------------------------------------------------

    def _running_driver(self) -> Driver:
        driver = self._driver
        if driver is None or not driver.running:
            raise RaftUnavailable(f"raft node {self.node_id} is not running", outcome_unknown=False)
        return driver

    def transfer_leadership(self, target: str, timeout_s: float | None = None) -> None:
        """Asks this leader to hand leadership to `target`; returns once the core started the transfer."""
        future = self._running_driver().transfer_leadership(target)
        future.result(timeout=timeout_s if timeout_s is not None else self._options.transfer_timeout_s)

    def propose(self, command: bytes, timeout_s: float | None = None) -> Any:
        """Replicates `command`; returns the state machine's apply() result once committed and applied here.

        Raises NotLeader (go to the leader) or RaftUnavailable (the command may or may not commit).
        """
        if not isinstance(command, bytes):
            raise TypeError(f"propose() takes bytes, not {type(command).__name__}")
        future = self._running_driver().propose(command)
        try:
            return future.result(timeout=timeout_s if timeout_s is not None else self._options.propose_timeout_s)
        except TimeoutError:
            raise RaftUnavailable("proposal timed out; the command may or may not commit") from None

    def read(self, fn: Callable[[Any], T], timeout_s: float | None = None) -> T:
        """Runs fn(state_machine) on state that reflects every write acknowledged before this call (ReadIndex)."""
        deadline = time.monotonic() + (timeout_s if timeout_s is not None else self._options.read_timeout_s)
        driver = self._running_driver()
        context = f"{self.node_id}:{next(self._read_ids)}".encode()
        try:
            read_index = driver.read_index(context).result(timeout=max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            raise RaftUnavailable("read timed out confirming leadership") from None
        return driver.read_at(read_index, fn, timeout_s=max(0.0, deadline - time.monotonic()))

    def read_local(self, fn: Callable[[Any], T]) -> tuple[int, T]:
        """Runs fn on this replica's state as applied so far — possibly stale, no leadership check — with
        the applied index it saw. For diagnostics and replica comparison, never for client reads."""
        return self._running_driver().read_local(fn)

    # ---- observation ---------------------------------------------------------------------------

    def status(self) -> RaftStatus:
        driver = self._driver
        if driver is None:
            return RaftStatus(
                node_id=self.node_id,
                role=Role.FOLLOWER,
                term=0,
                leader_id=None,
                leader_address=None,
                commit_index=0,
                applied_index=0,
                last_index=0,
                snapshot_index=0,
                log_entries=0,
                running=False,
            )
        senders = list(self._senders.values())
        return dataclasses.replace(
            driver.status,
            peer_rpcs_sent=sum(p.sent_rpcs for p in senders),
            peer_rpcs_failed=sum(p.failed_rpcs for p in senders),
            messages_shed=sum(p.dropped_messages + p.superseded_messages for p in senders),
            dropped_by_reason=self._drops.counts(),
            inbox_queued=driver.inbox_queued,
        )

    def is_leader(self) -> bool:
        status = self.status()
        return status.running and status.role is Role.LEADER

    @property
    def leader_id(self) -> str | None:
        return self.status().leader_id

    @property
    def leader_address(self) -> str | None:
        return self.status().leader_address

    @property
    def peers(self) -> dict[str, str]:
        return dict(self._peers)
