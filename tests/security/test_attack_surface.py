"""The attack tests attack every mutating RPC the protos declare: a new RPC fails here until it is attacked (or
named a read in tests/security/surface.py, with why it changes nothing); and each attack's refused callers are
refused by the table itself, so a fleet test's PERMISSION_DENIED is the table's answer, not an accident; and no
row allows nobody (an RPC no client calls is removed from the protos, not kept refused).
"""

from __future__ import annotations

from tests.security import test_attacks, test_lease_and_flow_attacks
from tests.security.attack_kit import STRANGER, Attack
from tests.security.surface import READS, mutating_methods, proto_methods
from utils.pb.common import common_pb2
from utils.rpc.core.authz import RULES, Policy, Roster, Verdict

ROSTER = Roster(
    executors=frozenset({"executor-1", "executor-2", "executor-3"}), books=frozenset({"books-1", "books-2", "books-3"})
)


def every_attack() -> list[Attack]:
    flow = test_lease_and_flow_attacks
    return [
        *test_attacks.attacks("book-1"),
        *flow.lease_attacks("w"),
        *flow.leased_attacks("o", "l"),
        *(a for target in flow.FLOW_SERVICES for a in flow.flow_attacks(target, common_pb2.VectorClock())),
    ]


def test_every_mutating_rpc_of_every_service_is_attacked() -> None:
    assert len(proto_methods()) > 40, "the protos were found"
    attacked = {a.method for a in every_attack()}
    assert mutating_methods() - attacked == set(), "attack it in tests/security (or name it a read in surface.py)"


def test_the_reads_and_the_attacks_name_only_methods_the_protos_have() -> None:
    assert set(READS) - proto_methods() == set()
    assert {a.method for a in every_attack()} - proto_methods() == set()
    assert not set(READS) & {a.method for a in every_attack()}


def test_the_new_batch_rpcs_are_attacked_from_the_identities_nearest_to_being_allowed() -> None:
    wrong = {(a.method.rpartition("/")[2], who) for a in every_attack() for who in a.wrong}
    assert {("LeaseBatch", "orchestrator"), ("AckBatch", "orchestrator"), ("ClearOrders", "executor-1")} <= wrong


def test_every_attacks_callers_are_refused_by_the_table_at_its_target() -> None:
    policy = Policy(ROSTER)
    allowed = {
        (a.method, who)
        for a in every_attack()
        for who in (STRANGER, *a.wrong)
        if policy.decide(a.method, who, a.target) is not Verdict.PERMISSION_DENIED
    }
    assert allowed == set()


def test_every_row_of_the_table_allows_someone() -> None:
    assert {method for method, roles in RULES.items() if not roles} == set(), "a dead RPC: remove it from its proto"
