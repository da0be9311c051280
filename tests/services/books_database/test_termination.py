"""The books database's cooperative termination (docs/design.md §4): a transaction PREPARED on the primary for
longer than `after_s` asks the executor group and logs its answer through Raft, with the payment service's loop
(utils/twopc/termination.py); a follower asks nothing, and another incarnation's answer is ignored."""

from __future__ import annotations

from typing import Any

from books_database.core.commands import Item, PrepareTransaction, encode_command
from books_database.core.results import TxState
from books_database.core.state_machine import BooksStateMachine
from books_database.store import BooksStore
from books_database.termination import BooksInDoubt
from utils.catalog.file import load_catalog
from utils.raft.core import Role
from utils.raft.status import RaftStatus
from utils.twopc.decision_client import DecisionAnswer
from utils.twopc.termination import TerminationPace, Terminator


class FakeReplica:
    """A one-replica group: proposals apply at once."""

    def __init__(self) -> None:
        self.store = BooksStore(BooksStateMachine(load_catalog()))
        self.index = 0
        self.role = Role.LEADER

    def propose(self, command: bytes, timeout_s: float | None = None) -> Any:
        self.index += 1
        return self.store.apply(self.index, command)

    def read_local(self, fn: Any) -> tuple[int, Any]:
        return self.index, fn(self.store)

    def status(self) -> RaftStatus:
        return RaftStatus("books-1", self.role, 1, "books-1", None, self.index, self.index, self.index, 0, 0)


def _setup() -> tuple[FakeReplica, str, list[float]]:
    node = FakeReplica()
    book = node.store.query(lambda m: m.books()[0].id)
    node.propose(encode_command(PrepareTransaction.of("tx1", [Item(book, 1)], 4, "inc-A")))
    return node, book, [100.0]


def test_a_transaction_prepared_too_long_asks_and_commits_through_the_log() -> None:
    node, book, now = _setup()
    asked: list[str] = []

    def ask(tx_id: str) -> DecisionAnswer:
        asked.append(tx_id)
        return DecisionAnswer("COMMIT", "", 6, "inc-A")

    in_doubt = BooksInDoubt(node, 1.0)
    terminator = Terminator(in_doubt, ask, TerminationPace(after_s=3.0, interval_s=0.1), clock=lambda: now[0])
    assert terminator.scan_once() == 0 and asked == []  # first seen now: not yet in doubt
    now[0] += 3.5
    assert terminator.scan_once() == 1 and asked == ["tx1"]
    tx = node.store.query(lambda m: m.transaction("tx1"))
    assert tx is not None and tx.state is TxState.COMMITTED and tx.coordinator_term == 6
    assert node.store.query(lambda m: m.fence).incarnation == "inc-A"
    assert in_doubt.incarnation() == "inc-A"


def test_a_follower_asks_nothing_and_another_incarnation_is_not_obeyed() -> None:
    node, _book, now = _setup()
    node.role = Role.FOLLOWER
    asked: list[str] = []

    def ask(tx_id: str) -> DecisionAnswer:
        asked.append(tx_id)
        return DecisionAnswer("ABORT", "presumed abort", 1, "inc-B")  # a wiped group would presume abort

    terminator = Terminator(BooksInDoubt(node, 1.0), ask, TerminationPace(after_s=0.0), clock=lambda: now[0])
    assert terminator.scan_once() == 0 and asked == []
    node.role = Role.LEADER
    assert terminator.scan_once() == 0 and asked == ["tx1"]
    assert node.store.query(lambda m: m.transaction("tx1")).state is TxState.PREPARED  # type: ignore[union-attr]
