"""`python -m order_executor.recover`: the operator's command after the executor group lost its data.

Lists every in-doubt transaction at both participants, resolves each from their own records (committed at one →
committed at all, otherwise aborted: order_executor/core/operator_recovery.py), then makes both participants adopt
the executor group's new incarnation. Runs as identity `operator` (TLS_IDENTITY=operator); docs/operations.md.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from order_executor.core.operator_recovery import Resolution, TxState, plan_resolutions
from utils.pb.books_database import books_database_pb2_grpc as books_grpc
from utils.pb.order_executor import order_executor_pb2 as exec_pb
from utils.pb.order_executor import order_executor_pb2_grpc as exec_grpc
from utils.pb.payment_service import payment_service_pb2_grpc as pay_grpc
from utils.pb.twopc import twopc_pb2 as twopc_pb
from utils.rpc.client import call, open_channel
from utils.rpc.leader_client import LeaderClient
from utils.rpc.trust import install_trust, trust_from
from utils.settings import FleetSettings, RuntimeSettings

ROUNDS_MAX = 20  # listing rounds (each resolves up to a participant's listing bound) before giving up
TIMEOUT_S = 5.0
_STATES = {
    twopc_pb.TX_STATE_NONE: TxState.NONE,
    twopc_pb.TX_STATE_PREPARED: TxState.PREPARED,
    twopc_pb.TX_STATE_COMMITTED: TxState.COMMITTED,
    twopc_pb.TX_STATE_ABORTED: TxState.ABORTED,
}

Invoke = Callable[[str, Any], Any]  # (method name, request) → reply; raises grpc.RpcError


@dataclass(frozen=True, slots=True)
class OperatorParticipant:
    """One participant's Operator* RPCs (the same messages on both services)."""

    name: str
    invoke: Invoke

    def list_in_doubt(self, tx_ids: Sequence[str] = ()) -> twopc_pb.OperatorListInDoubtReply:
        reply: twopc_pb.OperatorListInDoubtReply = self.invoke(
            "OperatorListInDoubt", twopc_pb.OperatorListInDoubtRequest(tx_ids=list(tx_ids))
        )
        return reply

    def resolve(self, tx_id: str, commit: bool) -> twopc_pb.OperatorResolveReply:
        reply: twopc_pb.OperatorResolveReply = self.invoke(
            "OperatorResolve", twopc_pb.OperatorResolveRequest(tx_id=tx_id, commit=commit)
        )
        return reply

    def adopt(self, incarnation: str, term: int) -> twopc_pb.OperatorAdoptIncarnationReply:
        reply: twopc_pb.OperatorAdoptIncarnationReply = self.invoke(
            "OperatorAdoptIncarnation",
            twopc_pb.OperatorAdoptIncarnationRequest(incarnation=incarnation, coordinator_term=term),
        )
        return reply


@dataclass(frozen=True, slots=True)
class Report:
    resolved: tuple[Resolution, ...]
    problems: tuple[Resolution, ...]
    adopted: str  # the incarnation adopted; "" when not adopted (dry run, or problems left)


def recover(
    participants: Sequence[OperatorParticipant],
    incarnation: str,
    *,
    dry_run: bool = False,
    say: Callable[[str], None] = print,
) -> Report:
    """Resolves every in-doubt transaction, then adopts `incarnation` at every participant (not when a transaction's
    records contradict each other: those are reported, and nothing is adopted)."""
    resolved: list[Resolution] = []
    problems: dict[str, Resolution] = {}
    for _ in range(ROUNDS_MAX):
        listed = {p.name: p.list_in_doubt() for p in participants}
        ids = sorted({r.tx_id for reply in listed.values() for r in reply.in_doubt} - set(problems))
        if not ids:
            break
        states: dict[str, dict[str, TxState]] = {tx: {} for tx in ids}
        for p in participants:
            for record in p.list_in_doubt(ids).asked:
                states[record.tx_id][p.name] = _STATES[record.state]
        for plan in plan_resolutions(states):
            if plan.problem:
                problems[plan.tx_id] = plan
                say(f"{plan.tx_id}: NOT resolved: {plan.problem}")
                continue
            verb = "commit" if plan.commit else "abort"
            say(f"{plan.tx_id}: {verb} at {', '.join(plan.apply_at)}" + (" (dry run)" if dry_run else ""))
            if not dry_run:
                by_name = {p.name: p for p in participants}
                for name in plan.apply_at:
                    by_name[name].resolve(plan.tx_id, plan.commit)
            resolved.append(plan)
        if dry_run or not any(reply.truncated for reply in listed.values()):
            break
    if dry_run or problems:
        if problems:
            say(f"{len(problems)} transaction(s) need a person; incarnation {incarnation} NOT adopted")
        return Report(tuple(resolved), tuple(problems.values()), "")
    for p in participants:
        reply = p.adopt(incarnation, 0)
        say(f"{p.name}: now follows {reply.after.incarnation} (was {reply.before.incarnation or 'none'})")
    return Report(tuple(resolved), (), incarnation)


def group_incarnation(peers: dict[str, str]) -> str:
    """The executor group's incarnation, from any replica that knows it (all that know it agree: it is logged)."""
    found: set[str] = set()
    for node_id, address in sorted(peers.items()):
        channel = open_channel(address, node_id, retries=False)
        try:
            status = call(exec_grpc.OrderExecutorStub(channel).Status, exec_pb.StatusRequest(), timeout_s=TIMEOUT_S)
            if status.incarnation:
                found.add(str(status.incarnation))
        except grpc.RpcError:
            continue
        finally:
            channel.close()
    if len(found) > 1:
        raise SystemExit(f"the executor replicas report different incarnations: {sorted(found)}")
    if not found:
        raise SystemExit("no executor replica reports an incarnation: start the executor group and let it elect")
    return found.pop()


def fleet_participants(fleet: FleetSettings) -> tuple[list[OperatorParticipant], Callable[[], None]]:
    pay_channel = open_channel(fleet.payment_service_addr, "payment_service")
    pay = pay_grpc.PaymentServiceStub(pay_channel)
    books: LeaderClient[books_grpc.BooksDatabaseStub] = LeaderClient(
        fleet.database_peers(), books_grpc.BooksDatabaseStub
    )

    def invoke_pay(method: str, request: Any) -> Any:
        return call(getattr(pay, method), request, timeout_s=TIMEOUT_S)

    def invoke_books(method: str, request: Any) -> Any:
        return books.call(lambda stub: getattr(stub, method), request, timeout_s=TIMEOUT_S)

    def close() -> None:
        pay_channel.close()
        books.close()

    return [
        OperatorParticipant("books_database", invoke_books),
        OperatorParticipant("payment_service", invoke_pay),
    ], close


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m order_executor.recover", description=__doc__)
    parser.add_argument("--dry-run", action="store_true", help="list the in-doubt transactions and the plan only")
    parser.add_argument("--incarnation", default="", help="adopt this one (default: the executor group's own)")
    args = parser.parse_args(argv)
    fleet, runtime = FleetSettings(), RuntimeSettings()
    _install_operator_trust(fleet, runtime)
    incarnation = args.incarnation or group_incarnation(fleet.executor_peers())
    participants, close = fleet_participants(fleet)
    try:
        report = recover(participants, incarnation, dry_run=args.dry_run)
    except grpc.RpcError as error:
        print(f"a participant refused or did not answer: {error.code().name}: {error.details()}", file=sys.stderr)
        return 2
    finally:
        close()
    print(f"{len(report.resolved)} in-doubt transaction(s) resolved, {len(report.problems)} left")
    return 1 if report.problems else 0


def _install_operator_trust(fleet: FleetSettings, runtime: RuntimeSettings) -> None:
    """The operator's certificate (TLS_DIR, TLS_IDENTITY=operator): only `operator` may call Operator* methods."""
    install_trust(trust_from(runtime, fleet, "operator"))


if __name__ == "__main__":
    sys.exit(main())
