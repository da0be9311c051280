"""The fence by incarnation (utils/twopc/core/participant.py) in both participants, and the operator's resolution
rule (order_executor/core/operator_recovery.py): docs/operations.md."""

from __future__ import annotations

from books_database.core.commands import (
    AbortTransaction,
    AdoptIncarnation,
    CommitTransaction,
    IncrementStock,
    Item,
    PrepareTransaction,
    ResolveTransaction,
    decode_command,
)
from books_database.core.results import FenceAdopted, Reason, Refused, TransactionEnded, TxState, Vote
from books_database.core.state_machine import BooksStateMachine
from order_executor.core.decision_log import DecisionLog, encode_incarnation
from order_executor.core.operator_recovery import Resolution, plan_resolutions
from order_executor.core.operator_recovery import TxState as S
from payment_service.core.ledger import CardFacts, Commit, PaymentState, Prepare, Reply, resolve, step
from utils.catalog.file import load_catalog
from utils.twopc.core.participant import OPERATOR_COMMAND, Admission, Fence

CARD = CardFacts("tok", "1111", False, order_id="tx1", amount_cents_max=5000)


def test_the_first_incarnation_is_adopted_and_another_refused_naming_the_operator_command() -> None:
    fresh = Fence()
    assert fresh.admission(1, "A") is Admission.ADMIT and fresh.seen(1, "A") == Fence(1, "A")
    fence = Fence(7, "A")
    assert fence.admission(9, "B") is Admission.INCARNATION_CHANGED
    assert fence.admission(9, "") is Admission.INCARNATION_CHANGED  # a call with none proves nothing
    assert fence.admission(6, "A") is Admission.STALE_TERM and fence.admits(7, "A")
    refusal = fence.refusal(1, "B")
    assert "incarnation changed" in refusal and OPERATOR_COMMAND in refusal and "B" in refusal


def test_adopting_a_new_incarnation_resets_the_term_floor() -> None:
    # A new group's terms start again at 1: the old group's term 57 must not fence it out.
    adopted = Fence(57, "A").adopt("B")
    assert adopted == Fence(0, "B") and adopted.admits(1, "B") and not adopted.admits(99, "A")


def test_payment_refuses_another_incarnation_and_changes_nothing() -> None:
    first = step(None, Fence(), Prepare("tx1", 4999, 1, CARD, incarnation="A"))
    assert first.reply is Reply.VOTE_COMMIT and first.fence == Fence(1, "A")
    other = step(first.persist, first.fence, Commit("tx1", 50, "B"))
    assert (other.reply, other.persist, other.fence) == (Reply.INCARNATION_CHANGED, None, Fence(1, "A"))
    assert OPERATOR_COMMAND in other.reason
    assert step(first.persist, first.fence, Commit("tx1", 2, "A")).state is PaymentState.CAPTURED


def test_payment_operator_resolution_applies_the_table_outside_the_fence() -> None:
    prepared = step(None, Fence(), Prepare("tx1", 4999, 3, CARD, incarnation="A")).persist
    out = resolve(prepared, Fence(3, "A"), "tx1", commit=True)
    assert out.state is PaymentState.CAPTURED and out.persist is not None and out.fence == Fence(3, "A")
    assert resolve(out.persist, Fence(3, "A"), "tx1", commit=False).reply is Reply.REFUSED  # abort after commit


def books() -> BooksStateMachine:
    return BooksStateMachine(load_catalog())


def test_books_refuse_another_incarnation_with_its_reason_and_keep_the_reservation() -> None:
    machine = books()
    book = machine.books()[0].id
    vote = machine.execute(PrepareTransaction.of("tx1", [Item(book, 1)], 1, "A"))
    assert isinstance(vote, Vote) and vote.commit
    refused = machine.execute(AbortTransaction("tx1", 99, "B"))
    assert isinstance(refused, Refused) and refused.reason is Reason.INCARNATION_CHANGED
    assert machine.transaction("tx1").state is TxState.PREPARED  # type: ignore[union-attr]
    assert machine.fence == Fence(1, "A") and [t.tx_id for t in machine.in_doubt()] == ["tx1"]


def test_books_operator_resolves_then_adopts_and_the_new_group_is_admitted() -> None:
    machine = books()
    book = machine.books()[0].id
    machine.execute(PrepareTransaction.of("tx1", [Item(book, 2)], 40, "A"))
    before = machine.book(book)
    ended = machine.execute(ResolveTransaction("tx1", commit=True))
    assert isinstance(ended, TransactionEnded) and ended.state is TxState.COMMITTED
    assert machine.book(book).stock == before.stock - 2  # type: ignore[union-attr]
    adopted = machine.execute(AdoptIncarnation("B", 0))
    assert isinstance(adopted, FenceAdopted) and adopted.before == ("A", 40) and adopted.after == ("B", 0)
    assert isinstance(machine.execute(CommitTransaction("tx1", 1, "B")), TransactionEnded)
    machine.check_invariants()


def test_books_fence_survives_a_snapshot_and_an_older_log_entry_decodes_without_incarnation() -> None:
    machine = books()
    book = machine.books()[0].id
    machine.apply(1, b'{"coordinator_term":3,"items":[["' + book.encode() + b'",1]],"kind":"prepare","tx_id":"t"}')
    machine.execute(CommitTransaction("t", 3, "A"))
    copy = books()
    copy.restore(machine.snapshot())
    assert copy.fence == Fence(3, "A") and copy.state_hash() == machine.state_hash()
    assert decode_command(b'{"kind":"abort","tx_id":"t","coordinator_term":1}') == AbortTransaction("t", 1)
    assert isinstance(copy.execute(IncrementStock(book, 1)), object)


def test_the_decision_log_keeps_its_first_incarnation() -> None:
    log = DecisionLog()
    assert log.apply(1, encode_incarnation("A")).changed and log.incarnation == "A"
    assert not log.apply(2, encode_incarnation("B")).changed and log.incarnation == "A"
    restored = DecisionLog()
    restored.restore(log.snapshot())
    assert restored.incarnation == "A"


def test_resolution_rule_committed_at_one_means_committed_at_all_otherwise_aborted() -> None:
    plans = plan_resolutions(
        {
            "c": {"books": S.COMMITTED, "payment": S.PREPARED},
            "a": {"books": S.PREPARED, "payment": S.NONE},
            "v": {"books": S.PREPARED, "payment": S.ABORTED},
            "done": {"books": S.COMMITTED, "payment": S.COMMITTED},  # not in doubt: left alone
            "bad": {"books": S.COMMITTED, "payment": S.ABORTED, "third": S.PREPARED},
        }
    )
    assert plans == [
        Resolution("a", False, ("books", "payment")),
        Resolution("bad", True, (), "committed at books but aborted at payment"),
        Resolution("c", True, ("payment",)),
        Resolution("v", False, ("books",)),
    ]
