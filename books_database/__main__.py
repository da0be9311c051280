"""Runs one books database replica: NODE_ID picks it from BOOKS_DATABASE_PEERS; one gRPC port serves both
the BooksDatabase service and Raft. Health is NOT_SERVING until the replica knows a primary.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from books_database.core.state_machine import BooksStateMachine
from books_database.server import BooksDatabaseServicer
from books_database.settings import BooksDatabaseSettings
from books_database.store import BooksStore
from books_database.termination import BooksInDoubt
from utils.catalog.file import load_catalog
from utils.datafiles import secure_process_files
from utils.pb.books_database import books_database_pb2, books_database_pb2_grpc
from utils.raft.node import RaftNode
from utils.rpc.bootstrap import listen_address, prepare_process
from utils.rpc.server import GrpcService
from utils.settings import FleetSettings, RuntimeSettings
from utils.twopc.decision_client import ExecutorDecisionClient
from utils.twopc.termination import TerminationPace, Terminator

log = logging.getLogger("books_database")
SERVICE_NAME = books_database_pb2.DESCRIPTOR.services_by_name["BooksDatabase"].full_name


class PrimaryWatch:
    """Keeps health in step with the group: SERVING only while this replica knows a primary."""

    def __init__(self, node: RaftNode, service: GrpcService, poll_s: float) -> None:
        self._node, self._service, self._poll_s = node, service, poll_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="books-primary-watch", daemon=True)
        self._serving: bool | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2 * self._poll_s + 1)

    def _run(self) -> None:
        while not self._stop.is_set():
            status = self._node.status()
            serving = status.running and status.leader_id is not None
            if serving != self._serving and not self._stop.is_set():
                self._service.set_serving(serving)
                log.info(
                    "primary known" if serving else "no primary known",
                    extra={"leader": status.leader_id, "term": status.term, "role": status.role.value},
                )
                self._serving = serving
            self._stop.wait(self._poll_s)


def main() -> None:
    fleet, runtime, own = FleetSettings(), RuntimeSettings(), BooksDatabaseSettings()
    peers = fleet.database_peers()
    if runtime.node_id not in peers:
        raise SystemExit(f"NODE_ID={runtime.node_id!r} is not in BOOKS_DATABASE_PEERS ({', '.join(peers)})")
    address = peers[runtime.node_id]
    prepare_process("books_database", address, runtime)
    secure_process_files(runtime.data_dir, runtime.data_dir / runtime.node_id)  # owner-only data (docs/operations.md)

    store = BooksStore(BooksStateMachine(load_catalog()))
    node = RaftNode(runtime.node_id, peers, runtime.data_dir / runtime.node_id, store, own.raft_options())
    servicer = BooksDatabaseServicer(node, address, own.books_request_timeout_s)
    service = GrpcService(
        name="books_database",
        listen=listen_address(address, runtime),
        registrars=[lambda s: books_database_pb2_grpc.add_BooksDatabaseServicer_to_server(servicer, s), node.register],
        service_names=[SERVICE_NAME],
        message_bytes_max=own.raft_options().message_bytes_max,  # the port carries Raft's snapshots
        workers_max=runtime.grpc_workers_max,
        shutdown_grace_s=runtime.shutdown_grace_s,
    )
    watch = PrimaryWatch(node, service, own.books_health_poll_s)
    # docs/design.md §4 cooperative termination, the same loop as the payment service's (utils/twopc/termination.py).
    executors = ExecutorDecisionClient(fleet.executor_peers(), timeout_s=runtime.rpc_timeout_s)
    in_doubt = BooksInDoubt(node, own.books_request_timeout_s)
    terminator = Terminator(
        in_doubt,
        lambda tx_id: executors.get_decision(tx_id, in_doubt.incarnation()),
        TerminationPace(
            own.books_termination_after_s,
            own.books_termination_interval_s,
            own.books_termination_backoff_max_s,
            own.books_termination_batch_max,
        ),
    )
    # Stop order: health NOT_SERVING (by the service), stop flipping it back, hand leadership on, then the server.
    service.on_stop.extend([watch.stop, terminator.stop, lambda: node.stop(transfer_leadership=True), executors.close])

    service.start()
    service.set_serving(False)  # not before a primary is known
    node.start()
    watch.start()
    terminator.start()
    log.info("books database replica up", extra={"node": runtime.node_id, "address": address, "peers": peers})

    stop_requested = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal received, stopping", extra={"signal": signal.Signals(signum).name})
        stop_requested.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stop_requested.wait()
    service.stop()


if __name__ == "__main__":
    main()
