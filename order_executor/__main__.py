"""Runs one order-executor replica: `python -m order_executor` with NODE_ID naming it in ORDER_EXECUTOR_PEERS.

Serves the executor service and Raft on one gRPC server; the replica that leads runs the orders.
"""

from __future__ import annotations

import logging
import sys
from concurrent.futures import ThreadPoolExecutor

from books_database.client import BooksClient
from order_executor.faults import CrashHook
from order_executor.participants import BooksParticipant, Incarnation, Participant, PaymentParticipant
from order_executor.reporting import QueueReporter
from order_executor.server import SERVICE_NAME
from order_executor.settings import ExecutorSettings
from order_executor.timeline import (
    JournaledDecisionLog,
    JournalingParticipant,
    JournalingRunner,
    TimelineRecorder,
    TimelineServicer,
    term_stamped,
)
from order_executor.transaction_runner import Timing
from order_executor.worker import Worker, WorkerOptions
from order_queue.client import OrderQueueClient
from utils.datafiles import secure_process_files
from utils.pb.order_executor import order_executor_pb2_grpc as pb_grpc
from utils.raft.node import RaftNode
from utils.raft.options import RaftOptions
from utils.rpc.bootstrap import listen_address, prepare_process
from utils.rpc.server import GrpcService
from utils.settings import FleetSettings, RuntimeSettings

log = logging.getLogger("order_executor")


def main() -> None:
    fleet, runtime, own = FleetSettings(), RuntimeSettings(), ExecutorSettings()
    peers = fleet.executor_peers()
    if runtime.node_id not in peers:
        sys.exit(f"NODE_ID={runtime.node_id!r} is not in ORDER_EXECUTOR_PEERS ({', '.join(sorted(peers))})")
    address = peers[runtime.node_id]
    prepare_process("order_executor", address, runtime)
    data_dir = runtime.data_dir / "order_executor"
    secure_process_files(runtime.data_dir, data_dir)  # owner-only data (docs/operations.md)

    recorder = TimelineRecorder(runtime.node_id)  # each transaction's 2PC steps, for the order page (docs/drawings.md)
    decisions = JournaledDecisionLog(recorder)
    node = RaftNode(runtime.node_id, peers, data_dir / runtime.node_id, decisions)
    decisions.attach_term(lambda: node.status().term)
    queue = OrderQueueClient(fleet.order_queue_addr, timeout_s=runtime.rpc_timeout_s)
    reporter = QueueReporter(queue)
    books = BooksClient(fleet.database_peers(), timeout_s=own.executor_prepare_timeout_s)
    # Every 2PC message carries the group's incarnation (docs/operations.md); the worker reads it from the log.
    incarnation = Incarnation()
    raw = (PaymentParticipant(fleet.payment_service_addr, incarnation), BooksParticipant(books, incarnation))
    participants: dict[str, Participant] = {p.name: JournalingParticipant(p, recorder) for p in raw}
    crash = CrashHook.from_settings(own.executor_crash_at, own.executor_crash_signal, data_dir)
    if crash.point is not None:
        log.warning("crash injection armed", extra={"point": crash.point.value, "signal": own.executor_crash_signal})
    worker = Worker(
        runtime.node_id,
        node,
        queue,
        reporter,
        WorkerOptions(
            concurrency_max=own.executor_concurrency_max,
            lease_s=own.executor_lease_s,
            lease_wait_s=own.executor_lease_wait_s,
        ),
        probes=raw,
    )
    incarnation.attach(worker.incarnation)
    timing = Timing(
        prepare_timeout_s=own.executor_prepare_timeout_s,
        phase2_attempt_timeout_s=own.executor_phase2_attempt_timeout_s,
        phase2_backoff_max_s=own.executor_phase2_backoff_max_s,
        log_timeout_s=own.executor_log_timeout_s,
    )
    calls = ThreadPoolExecutor(max_workers=own.executor_concurrency_max * 4, thread_name_prefix="2pc-call")
    runner = JournalingRunner(
        term_stamped(node.propose, lambda: node.status().term),
        worker.still_leader,
        participants,
        reporter.report,
        timing,
        crash,
        calls,
        worker.on_fenced_out,
    )
    runner.attach_recorder(recorder)
    worker.attach(runner)
    node.add_role_listener(worker.on_role_change)

    servicer = TimelineServicer(node, worker.in_flight, worker.fenced_out, recorder=recorder)
    service = GrpcService(
        f"order_executor-{runtime.node_id}",
        listen_address(address, runtime),
        [lambda server: pb_grpc.add_OrderExecutorServicer_to_server(servicer, server), node.register],
        [SERVICE_NAME, "bookstore.raft.Raft"],
        message_bytes_max=RaftOptions().message_bytes_max,  # the port carries Raft's snapshots
        workers_max=runtime.grpc_workers_max,
        shutdown_grace_s=runtime.shutdown_grace_s,
        on_stop=[worker.stop, lambda: node.stop(transfer_leadership=True)],
    )
    node.start()
    service.run()
    calls.shutdown(wait=False, cancel_futures=True)
    queue.close()
    books.close()


if __name__ == "__main__":
    main()
