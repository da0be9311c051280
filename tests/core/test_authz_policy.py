"""The authorization table (utils/rpc/core/authz.py, docs/trust.md): who may call which method, deny by default.

Every method of every service in utils/pb must have a row (or be an operator command), so a new RPC is neither
refused nor opened by accident; removing any one row makes that check fail (checked for each row below).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path

import pytest

from utils.rpc.core.authz import (
    OPERATOR_METHOD_PREFIX,
    RULES,
    Policy,
    Role,
    Roster,
    Verdict,
    raft_sender_is,
)

ROOT = Path(__file__).resolve().parents[2]
ROSTER = Roster(
    executors=frozenset({"executor-1", "executor-2", "executor-3"}),
    books=frozenset({"books-1", "books-2", "books-3"}),
)
POLICY = Policy(ROSTER)
ALLOW, DENIED, NOBODY = Verdict.ALLOW, Verdict.PERMISSION_DENIED, Verdict.UNKNOWN_METHOD
PAY = "/bookstore.payment_service.PaymentService/"
BOOKS = "/bookstore.books_database.BooksDatabase/"
EXEC = "/bookstore.order_executor.OrderExecutor/"
QUEUE = "/bookstore.order_queue.OrderQueue/"
RAFT = "/bookstore.raft.Raft/"
EVERYONE = (
    "executor-1",
    "books-1",
    "payment_service",
    "order_queue",
    "transaction_verification",
    "fraud_detection",
    "suggestions",
    "orchestrator",
    "operator",
    "stranger",
)

# (method, server identity, the identities allowed): every other identity of EVERYONE is refused.
CASES = [
    (f"{PAY}Prepare", "payment_service", {"executor-1"}),
    (f"{PAY}Commit", "payment_service", {"executor-1"}),
    (f"{PAY}Abort", "payment_service", {"executor-1"}),
    (f"{BOOKS}PrepareTransaction", "books-1", {"executor-1"}),
    (f"{BOOKS}CommitTransaction", "books-1", {"executor-1"}),
    (f"{BOOKS}AbortTransaction", "books-1", {"executor-1"}),
    # The participants in doubt ask; the executors read their own log, never this RPC.
    (f"{EXEC}GetDecision", "executor-1", {"payment_service", "books-1"}),
    (f"{PAY}Tokenize", "payment_service", {"orchestrator"}),
    (f"{QUEUE}Enqueue", "order_queue", {"orchestrator"}),
    (f"{QUEUE}RecordRejected", "order_queue", {"orchestrator"}),
    # The executors' calls (order_executor/worker.py, reporting.py).
    (f"{QUEUE}LeaseBatch", "order_queue", {"executor-1"}),
    (f"{QUEUE}AckBatch", "order_queue", {"executor-1"}),
    (f"{QUEUE}Nack", "order_queue", {"executor-1"}),
    (f"{QUEUE}SetState", "order_queue", {"executor-1"}),
    (f"{QUEUE}GetOrder", "order_queue", {"orchestrator"}),
    (f"{QUEUE}Stats", "order_queue", {"orchestrator"}),
    (f"{BOOKS}DecrementStock", "books-1", {"operator"}),  # the gateway only increments (POST /stock/increment)
    (f"{BOOKS}IncrementStock", "books-1", {"orchestrator", "operator"}),
    (f"{PAY}GetFence", "payment_service", {"executor-1"}),
    (f"{BOOKS}GetFence", "books-1", {"executor-1"}),
    (f"{EXEC}Status", "executor-1", {"orchestrator", "operator"}),
    (f"{BOOKS}GetTransaction", "books-1", {"operator"}),
    (f"{PAY}GetPayment", "payment_service", {"operator"}),
    (f"{PAY}OperatorAdoptIncarnation", "payment_service", {"operator"}),
    (f"{BOOKS}OperatorResolve", "books-1", {"operator"}),
    (f"{BOOKS}OperatorAnythingNew", "books-1", {"operator"}),  # the prefix covers commands added later
    (f"{RAFT}Status", "books-1", {"orchestrator", "operator"}),
    (
        "/bookstore.transaction_verification.TransactionVerification/InitOrder",
        "transaction_verification",
        {"orchestrator"},
    ),
    ("/bookstore.fraud_detection.FraudDetection/ClearOrders", "fraud_detection", {"orchestrator"}),
    ("/bookstore.fraud_detection.FraudDetection/CheckUserData", "fraud_detection", {"transaction_verification"}),
    ("/bookstore.suggestions.Suggestions/GetSuggestions", "suggestions", {"fraud_detection"}),
    (
        "/bookstore.orchestrator.FlowReport/Report",
        "orchestrator",
        {"transaction_verification", "fraud_detection", "suggestions"},
    ),
    ("/grpc.health.v1.Health/Check", "order_queue", set(EVERYONE) - {"stranger"}),
]


@pytest.mark.parametrize(("method", "server", "allowed"), CASES, ids=[c[0].rpartition("/")[2] for c in CASES])
def test_each_method_allows_exactly_its_callers(method: str, server: str, allowed: set[str]) -> None:
    verdicts = {identity: POLICY.decide(method, identity, server) for identity in EVERYONE}
    assert {i for i, v in verdicts.items() if v is ALLOW} == allowed
    assert all(v is DENIED for i, v in verdicts.items() if i not in allowed)


def test_a_call_without_an_identity_is_unauthenticated_whatever_the_method() -> None:
    assert POLICY.decide(f"{QUEUE}Stats", None, "order_queue") is Verdict.UNAUTHENTICATED
    assert POLICY.decide("/x.Y/Z", None, "order_queue") is Verdict.UNAUTHENTICATED


def test_deny_by_default_a_method_missing_from_the_table_is_refused_to_everyone() -> None:
    for method in (f"{PAY}Refund", f"{QUEUE}Purge", "/bookstore.unknown.Thing/Do", "/grpc.other.Svc/Call"):
        assert {POLICY.decide(method, identity, "payment_service") for identity in EVERYONE} == {NOBODY}


def test_raft_messages_come_only_from_the_servers_own_group_never_from_itself() -> None:
    append = f"{RAFT}AppendEntries"
    assert POLICY.decide(append, "books-2", "books-1") is ALLOW
    assert POLICY.decide(append, "executor-2", "books-1") is DENIED  # a member of the other group
    assert POLICY.decide(append, "books-1", "books-1") is DENIED  # a replica never messages itself
    assert POLICY.decide(f"{RAFT}TimeoutNow", "executor-3", "executor-1") is ALLOW
    assert POLICY.decide(f"{RAFT}TimeoutNow", "operator", "executor-1") is DENIED
    assert POLICY.decide(f"{RAFT}RequestVote", "orchestrator", "executor-1") is DENIED


def test_the_claimed_raft_sender_must_be_the_certificates_identity() -> None:
    assert raft_sender_is("books-2", "books-2")
    assert not raft_sender_is("books-3", "books-2")
    assert not raft_sender_is("books-2", None)


def test_a_replica_id_may_not_take_a_singleton_name_or_sit_in_two_groups() -> None:
    with pytest.raises(ValueError, match="singleton"):
        Roster(executors=frozenset({"orchestrator"}), books=frozenset())
    with pytest.raises(ValueError, match="two replica groups"):
        Roster(executors=frozenset({"r1"}), books=frozenset({"r1"}))


def _service_methods() -> set[str]:
    """Every '/package.Service/Method' the protos in utils/pb declare."""
    names: set[str] = set()
    for pb2 in sorted((ROOT / "utils" / "pb").glob("*/*_pb2.py")):
        module = importlib.import_module(".".join(pb2.relative_to(ROOT).with_suffix("").parts))
        for service in module.DESCRIPTOR.services_by_name.values():
            names.update(f"/{service.full_name}/{m.name}" for m in service.methods)
    return names


def missing_rows(rules: Mapping[str, frozenset[Role]]) -> set[str]:
    policy = Policy(ROSTER, rules)
    return {m for m in _service_methods() if policy.allowed_roles(m) is None}


def test_every_rpc_of_every_service_has_a_row_or_is_an_operator_command() -> None:
    methods = _service_methods()
    assert len(methods) > 40, "the protos were found"
    assert missing_rows(RULES) == set(), "add a row to utils/rpc/core/authz.py RULES (and docs/trust.md)"


def test_no_row_names_a_method_the_protos_do_not_have() -> None:
    stale = {m for m in RULES if m.startswith("/bookstore.")} - _service_methods()
    assert stale == set()


@pytest.mark.parametrize("removed", sorted(m for m in RULES if m.startswith("/bookstore.")))
def test_removing_any_row_fails_the_completeness_check(removed: str) -> None:
    # Mutation-style: the table without this row must be caught (the method would be refused to its callers).
    assert removed in missing_rows({m: r for m, r in RULES.items() if m != removed})


def test_operator_commands_are_the_operators_alone() -> None:
    commands = {m for m in _service_methods() if m.rpartition("/")[2].startswith(OPERATOR_METHOD_PREFIX)}
    assert commands, "the operator commands exist"
    for method in commands:
        assert POLICY.allowed_roles(method) == frozenset({Role.OPERATOR})
