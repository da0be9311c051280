"""Runs the payment service: `python -m payment_service` (PAYMENT_SERVICE_ADDR, DATA_DIR, PAYMENT_* settings).

Wires the SQLite ledger, the servicer and the cooperative-termination loop; SIGTERM stops it gracefully.
"""

from __future__ import annotations

import logging

from payment_service.core.ledger import Limits
from payment_service.keys import load_fingerprint_key
from payment_service.server import SERVICE_NAME, Faults, PaymentServicer
from payment_service.settings import PaymentSettings
from payment_service.store import LedgerStore
from payment_service.termination import TerminationPace, Terminator
from utils.datafiles import secure_process_files
from utils.pb.payment_service import payment_service_pb2_grpc as pb_grpc
from utils.rpc.bootstrap import listen_address, prepare_process
from utils.rpc.server import GrpcService
from utils.settings import FleetSettings, RuntimeSettings
from utils.twopc.decision_client import ExecutorDecisionClient

log = logging.getLogger("payment_service")


def main() -> None:
    fleet, runtime, own = FleetSettings(), RuntimeSettings(), PaymentSettings()
    prepare_process("payment_service", fleet.payment_service_addr, runtime)
    folder = runtime.data_dir / "payment_service"
    secure_process_files(runtime.data_dir, folder)  # owner-only data (docs/operations.md)
    store = LedgerStore(folder / "ledger.sqlite3")
    key = load_fingerprint_key(folder, store, own.payment_fingerprint_key.get_secret_value())
    faults = Faults(own.payment_decline_percent, own.payment_delay_ms, own.payment_unreachable)
    if faults != Faults():
        log.warning(
            "fault injection on",
            extra={
                "decline_percent": faults.decline_percent,
                "delay_ms": faults.delay_ms,
                "unreachable": faults.unreachable,
            },
        )
    servicer = PaymentServicer(store, key, Limits(own.payment_amount_max_cents), faults)
    executors = ExecutorDecisionClient(fleet.executor_peers(), timeout_s=runtime.rpc_timeout_s)
    terminator = Terminator(
        store,
        lambda tx_id: executors.get_decision(tx_id, store.fence().incarnation),
        TerminationPace(
            own.payment_termination_after_s,
            own.payment_termination_interval_s,
            own.payment_termination_backoff_max_s,
            own.payment_termination_batch_max,
        ),
    )
    service = GrpcService(
        "payment_service",
        listen_address(fleet.payment_service_addr, runtime),
        [lambda server: pb_grpc.add_PaymentServiceServicer_to_server(servicer, server)],
        [SERVICE_NAME],
        workers_max=runtime.grpc_workers_max,
        shutdown_grace_s=runtime.shutdown_grace_s,
        on_stop=[terminator.stop, executors.close],
    )
    log.info(
        "ledger opened",
        extra={
            "payments": {s.value: n for s, n in store.counts().items()},
            "term_seen": store.term_seen(),
            "incarnation": store.fence().incarnation,
        },
    )
    terminator.start()
    service.run()
    store.close()


if __name__ == "__main__":
    main()
