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
_PAY = "bookstore.payment_service.PaymentService"
_BOOKS = "bookstore.books_database.BooksDatabase"
_EXEC = "bookstore.order_executor.OrderExecutor"
_QUEUE = "bookstore.order_queue.OrderQueue"
_RAFT = "bookstore.raft.Raft"
_TV = "bookstore.transaction_verification.TransactionVerification"
_FD = "bookstore.fraud_detection.FraudDetection"
_S = "bookstore.suggestions.Suggestions"
_FLOW_REPORT = "bookstore.orchestrator.FlowReport"

# The table: full method name → the roles allowed to call it. Each row names who calls it today (the clients).
RULES: Mapping[str, frozenset[Role]] = {
    # 2PC participant methods: the executor group's coordinator only (a new term is adopted from these alone).
    **_rows(_PAY, _EXECUTORS, "Prepare", "Commit", "Abort"),
    **_rows(_BOOKS, _EXECUTORS, "PrepareTransaction", "CommitTransaction", "AbortTransaction"),
    # The decision of an in-doubt transaction: executors, and the participants asking about what they hold.
    **_rows(_EXEC, frozenset({Role.EXECUTOR, Role.PAYMENT, Role.BOOKS}), "GetDecision"),
    # Gateway-only writes: a card becomes a token, an order joins the queue or is recorded as rejected.
    **_rows(_PAY, _ORCHESTRATOR, "Tokenize"),
    **_rows(_QUEUE, _ORCHESTRATOR, "Enqueue", "RecordRejected"),
    # The executors' side of the queue (the lease itself is checked by the queue for Renew/Ack/Nack/EXECUTING).
    **_rows(_QUEUE, _EXECUTORS, "Lease", "Renew", "Ack", "Nack", "SetState", "LeaseBatch", "AckBatch"),
    # Reads: the gateway's GET /orders/{id}, /cluster and readiness; operator tools (chaos evidence, the harness).
    **_rows(_QUEUE, frozenset({Role.ORCHESTRATOR, Role.OPERATOR}), "GetOrder", "Stats"),
    **_rows(_PAY, _OPERATOR, "GetPayment"),
    # Books: catalog and stock reads of the gateway (catalog, stock, cluster view) and the operator tools; the
    # stock writes of the gateway's /stock endpoints and of the operator's benchmarks; transaction records read
    # as evidence by the operator tools.
    **_rows(_BOOKS, frozenset({Role.ORCHESTRATOR, Role.OPERATOR}), "ReadStock", "ListBooks", "Status"),
    **_rows(_BOOKS, frozenset({Role.ORCHESTRATOR, Role.OPERATOR}), "DecrementStock", "IncrementStock"),
    **_rows(_BOOKS, _OPERATOR, "GetTransaction"),
    **_rows(_EXEC, frozenset({Role.ORCHESTRATOR, Role.OPERATOR}), "Status"),
    # One replica's journal of a transaction, for the order page's drawing: the gateway and operator tools.
    **_rows(_EXEC, frozenset({Role.ORCHESTRATOR, Role.OPERATOR}), "GetTimeline"),
    # The executor-group incarnation a participant follows and its newest term: read by the executors (to learn
    # whether their incarnation is adopted), the gateway's /cluster and the operator tools.
    **_rows(_PAY, frozenset({Role.EXECUTOR, Role.ORCHESTRATOR, Role.OPERATOR}), "GetFence"),
    **_rows(_BOOKS, frozenset({Role.EXECUTOR, Role.ORCHESTRATOR, Role.OPERATOR}), "GetFence"),
    # Operator commands (OperatorListInDoubt, OperatorResolve, OperatorAdoptIncarnation, ...): see
    # OPERATOR_METHOD_PREFIX: every method whose name starts with it is the operator's alone.
    # Raft peer messages: members of the server's own group only (the sender check is in utils/raft/transport.py).
    **_rows(_RAFT, frozenset({Role.RAFT_PEER}), "RequestVote", "AppendEntries", "InstallSnapshot", "TimeoutNow"),
    **_rows(_RAFT, frozenset({Role.ORCHESTRATOR, Role.OPERATOR}), "Status"),
    # The validation flow (utils/flow/core/checkout.py): the orchestrator initialises, starts and clears; each
    # later event comes from the service of its remote predecessor; every service reports the outcome.
    **_rows(_TV, _ORCHESTRATOR, "InitOrder", "ClearOrder", "ClearOrders", "VerifyItems", "VerifyUserData"),
    **_rows(_FD, _ORCHESTRATOR, "InitOrder", "ClearOrder", "ClearOrders"),
    **_rows(_FD, frozenset({Role.TRANSACTION_VERIFICATION}), "CheckUserData", "CheckCreditCardData"),
    **_rows(_S, _ORCHESTRATOR, "InitOrder", "ClearOrder", "ClearOrders"),
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
