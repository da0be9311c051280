"""Who may call which gRPC method: roles from identities, one table of method → roles, deny by default.

docs/trust.md shows the table. An identity's roles come from the peer lists (executors, books replicas) and the
fixed singleton names; a method missing from the table is refused, whoever calls it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum


class Role(StrEnum):
    EXECUTOR = "executor"  # an id in ORDER_EXECUTOR_PEERS
    BOOKS = "books"  # an id in BOOKS_DATABASE_PEERS
    PAYMENT = "payment_service"
    ORDER_QUEUE = "order_queue"
    TRANSACTION_VERIFICATION = "transaction_verification"
    FRAUD_DETECTION = "fraud_detection"
    SUGGESTIONS = "suggestions"
    ORCHESTRATOR = "orchestrator"
    OPERATOR = "operator"  # operator commands, the chaos tool and the benchmarks
    # Relative to the server: the caller is a member of the server's own Raft group (books or executors).
    RAFT_PEER = "raft peer"


SINGLETONS: Mapping[str, Role] = {
    role.value: role
    for role in (
        Role.PAYMENT,
        Role.ORDER_QUEUE,
        Role.TRANSACTION_VERIFICATION,
        Role.FRAUD_DETECTION,
        Role.SUGGESTIONS,
        Role.ORCHESTRATOR,
        Role.OPERATOR,
    )
}
EVERY_FLEET_ROLE = frozenset(r for r in Role if r is not Role.RAFT_PEER)
# Methods whose name starts with this are operator commands (e.g. adopting a new executor incarnation): only
# `operator` may call them, on any service.
OPERATOR_METHOD_PREFIX = "Operator"


@dataclass(frozen=True, slots=True)
class Roster:
    """The replica groups, by id: what makes an identity an executor or a books replica."""

    executors: frozenset[str]
    books: frozenset[str]
    # Other Raft groups (the test key-value cluster): their members are raft peers of each other, nothing more.
    other_groups: tuple[frozenset[str], ...] = ()

    def __post_init__(self) -> None:
        named = [self.executors, self.books, *self.other_groups]
        clash = set(SINGLETONS) & set().union(*named)
        if clash:
            raise ValueError(f"replica ids may not be singleton names: {sorted(clash)}")
        for i, first in enumerate(named):
            for second in named[i + 1 :]:
                if first & second:
                    raise ValueError(f"an id is in two replica groups: {sorted(first & second)}")

    def group_of(self, identity: str) -> frozenset[str]:
        for group in (self.executors, self.books, *self.other_groups):
            if identity in group:
                return group
        return frozenset()

    def roles_of(self, identity: str, server_identity: str) -> frozenset[Role]:
        roles: set[Role] = set()
        if identity in self.executors:
            roles.add(Role.EXECUTOR)
        if identity in self.books:
            roles.add(Role.BOOKS)
        if identity in SINGLETONS:
            roles.add(SINGLETONS[identity])
        if identity != server_identity and identity in self.group_of(server_identity):
            roles.add(Role.RAFT_PEER)
        return frozenset(roles)


def _rows(service: str, allowed: frozenset[Role], *methods: str) -> dict[str, frozenset[Role]]:
    return {f"/{service}/{method}": allowed for method in methods}


_EXECUTORS = frozenset({Role.EXECUTOR})
_ORCHESTRATOR = frozenset({Role.ORCHESTRATOR})
_OPERATOR = frozenset({Role.OPERATOR})
_GATEWAY_AND_TOOLS = frozenset({Role.ORCHESTRATOR, Role.OPERATOR})
_PAY = "bookstore.payment_service.PaymentService"
_BOOKS = "bookstore.books_database.BooksDatabase"
_EXEC = "bookstore.order_executor.OrderExecutor"
_QUEUE = "bookstore.order_queue.OrderQueue"
_RAFT = "bookstore.raft.Raft"
_TV = "bookstore.transaction_verification.TransactionVerification"
_FD = "bookstore.fraud_detection.FraudDetection"
_S = "bookstore.suggestions.Suggestions"
_FLOW_REPORT = "bookstore.orchestrator.FlowReport"

# The table: full method name → the roles allowed to call it. Each role is granted only what a client running as
# that identity calls today (named per row); the operator is the chaos tool, the benchmarks and the recovery
# command. The test harness calls as whoever the table allows (testing/pki.py).
RULES: Mapping[str, frozenset[Role]] = {
    # 2PC participant methods: the executor group's coordinator only (order_executor/participants.py; a new term is
    # adopted from these alone).
    **_rows(_PAY, _EXECUTORS, "Prepare", "Commit", "Abort"),
    **_rows(_BOOKS, _EXECUTORS, "PrepareTransaction", "CommitTransaction", "AbortTransaction"),
    # The decision of an in-doubt transaction: the participants asking about what they hold
    # (utils/twopc/decision_client.py); the executors read their own log, never this RPC.
    **_rows(_EXEC, frozenset({Role.PAYMENT, Role.BOOKS}), "GetDecision"),
    # Gateway-only writes: a card becomes a token, an order joins the queue or is recorded as rejected.
    **_rows(_PAY, _ORCHESTRATOR, "Tokenize"),
    **_rows(_QUEUE, _ORCHESTRATOR, "Enqueue", "RecordRejected"),
    # The executors' side of the queue: the worker leases in batches and gives back leases it will not start
    # (order_executor/worker.py); the reporter acks in batches and records an outcome whose lease is gone with
    # SetState (order_executor/reporting.py). The lease itself is checked by the queue for Nack and EXECUTING.
    **_rows(_QUEUE, _EXECUTORS, "LeaseBatch", "AckBatch", "Nack", "SetState"),
    # Reads of the gateway: GET /orders/{id}; /cluster and readiness (the queue's depth).
    **_rows(_QUEUE, _ORCHESTRATOR, "GetOrder", "Stats"),
    # A payment's state, read as evidence by the chaos tool.
    **_rows(_PAY, _OPERATOR, "GetPayment"),
    # Books: the gateway's catalog, stock and cluster view and POST /stock/increment; the chaos tool's stock and
    # replica reads; the books benchmark's stock writes and primary probes; transaction records read as evidence.
    **_rows(_BOOKS, _GATEWAY_AND_TOOLS, "ReadStock", "ListBooks", "Status", "IncrementStock"),
    **_rows(_BOOKS, _OPERATOR, "DecrementStock", "GetTransaction"),
    # The gateway's /cluster (the leader's incarnation) and order page's drawing; the recovery command's
    # incarnation read and the replicas benchmark's journal read.
    **_rows(_EXEC, _GATEWAY_AND_TOOLS, "Status", "GetTimeline"),
    # The executor-group incarnation a participant follows and its newest term: read by the executor leader (is
    # its incarnation adopted?). The recovery command learns both from its Operator* replies.
    **_rows(_PAY, _EXECUTORS, "GetFence"),
    **_rows(_BOOKS, _EXECUTORS, "GetFence"),
    # Operator commands (OperatorListInDoubt, OperatorResolve, OperatorAdoptIncarnation, ...): see
    # OPERATOR_METHOD_PREFIX: every method whose name starts with it is the operator's alone.
    # Raft peer messages: members of the server's own group only (the sender check is in utils/raft/transport.py).
    **_rows(_RAFT, frozenset({Role.RAFT_PEER}), "RequestVote", "AppendEntries", "InstallSnapshot", "TimeoutNow"),
    # Each replica's role, term and log: the gateway's /cluster and the chaos tool's replica facts.
    **_rows(_RAFT, _GATEWAY_AND_TOOLS, "Status"),
    # The validation flow (utils/flow/core/checkout.py): the orchestrator initialises, starts and clears (in
    # batches: ClearOrders); each later event comes from the service of
    # its remote predecessor; every service reports the outcome.
    **_rows(_TV, _ORCHESTRATOR, "InitOrder", "ClearOrders", "VerifyItems", "VerifyUserData"),
    **_rows(_FD, _ORCHESTRATOR, "InitOrder", "ClearOrders"),
    **_rows(_FD, frozenset({Role.TRANSACTION_VERIFICATION}), "CheckUserData", "CheckCreditCardData"),
    **_rows(_S, _ORCHESTRATOR, "InitOrder", "ClearOrders"),
    **_rows(_S, frozenset({Role.FRAUD_DETECTION}), "GetSuggestions"),
    **_rows(
        _FLOW_REPORT,
        frozenset({Role.TRANSACTION_VERIFICATION, Role.FRAUD_DETECTION, Role.SUGGESTIONS}),
        "Report",
    ),
    # Health on the API port (the orchestrator probes its dependencies): any fleet identity. Probes without a
    # certificate use the plaintext health port. Reflection: operators.
    **_rows("grpc.health.v1.Health", EVERY_FLEET_ROLE, "Check", "Watch", "List"),
    **_rows("grpc.reflection.v1alpha.ServerReflection", _OPERATOR, "ServerReflectionInfo"),
}


class Verdict(Enum):
    ALLOW = "allow"
    UNAUTHENTICATED = "unauthenticated"  # no verified certificate identity
    PERMISSION_DENIED = "permission denied"  # an identity the method does not allow
    UNKNOWN_METHOD = "unknown method"  # not in the table: refused (answered PERMISSION_DENIED)


def method_name(full_method: str) -> str:
    """'/pkg.Service/Method' → 'Method'."""
    return full_method.rpartition("/")[2]


@dataclass(frozen=True, slots=True)
class Policy:
    roster: Roster
    rules: Mapping[str, frozenset[Role]] = field(default_factory=lambda: RULES)

    def allowed_roles(self, full_method: str) -> frozenset[Role] | None:
        """The roles the table allows for `full_method`, or None when it does not name it."""
        if method_name(full_method).startswith(OPERATOR_METHOD_PREFIX):
            return _OPERATOR  # operator commands: one row for every service, whatever their name after the prefix
        return self.rules.get(full_method)

    def decide(self, full_method: str, identity: str | None, server_identity: str) -> Verdict:
        if identity is None:
            return Verdict.UNAUTHENTICATED
        allowed = self.allowed_roles(full_method)
        if allowed is None:
            return Verdict.UNKNOWN_METHOD
        if allowed & self.roster.roles_of(identity, server_identity):
            return Verdict.ALLOW
        return Verdict.PERMISSION_DENIED


def raft_sender_is(claimed_sender: str, identity: str | None) -> bool:
    """A Raft message is taken only when the sender it names is the certificate's identity."""
    return identity is not None and claimed_sender == identity
