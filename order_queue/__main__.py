"""`python -m order_queue`: the durable priority queue on ORDER_QUEUE_ADDR, its SQLite file under DATA_DIR.

Settings are read once here and passed down.
"""

from __future__ import annotations

import logging

from order_queue.core.policy import PriorityPolicy
from order_queue.core.retention import Retention
from order_queue.retention import RetentionPurge
from order_queue.server import SERVICE_NAME, BatchLimits, OrderQueueServicer
from order_queue.settings import OrderQueueSettings
from order_queue.store import QueueStore
from utils.datafiles import secure_process_files
from utils.pb.order_queue import order_queue_pb2_grpc as pb_grpc
from utils.rpc.bootstrap import listen_address, prepare_process
from utils.rpc.server import GrpcService
from utils.settings import FleetSettings, RuntimeSettings

log = logging.getLogger("order_queue")


def main() -> None:
    fleet, runtime, own = FleetSettings(), RuntimeSettings(), OrderQueueSettings()
    prepare_process("order_queue", fleet.order_queue_addr, runtime)
    secure_process_files(runtime.data_dir, runtime.data_dir / "order_queue")  # owner-only data (docs/operations.md)
    store = QueueStore(
        runtime.data_dir / "order_queue" / "queue.sqlite3",
        PriorityPolicy(aging_points_per_s=own.aging_points_per_s),
        depth_max=own.depth_max,
        final_records_max=own.final_records_max,
    )
    limits = BatchLimits(own.lease_batch_max, own.lease_wait_s_max, own.lease_waiters_max, own.ack_batch_max)
    servicer = OrderQueueServicer(store, lease_s_max=own.lease_s_max, limits=limits)
    purge = RetentionPurge(store, Retention(own.personal_data_retention_s, own.retention_scan_s))
    log.info("queue opened", extra={"depth": store.stats().depth, "depth_max": own.depth_max})
    service = GrpcService(
        "order_queue",
        listen_address(fleet.order_queue_addr, runtime),
        [lambda server: pb_grpc.add_OrderQueueServicer_to_server(servicer, server)],
        [SERVICE_NAME],
        workers_max=runtime.grpc_workers_max,
        shutdown_grace_s=runtime.shutdown_grace_s,
    )
    purge.start()
    try:
        service.run()
    finally:
        purge.stop()
        store.close()


if __name__ == "__main__":
    main()
