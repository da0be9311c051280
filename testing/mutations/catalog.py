"""The catalog of targeted mutations: for each safety rule of Raft, 2PC and the causal gate, one break and its tests.

Each entry replaces one exact text (found exactly once) in one file; the suite must fail on the mutated copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Mutation:
    id: str
    rule: str  # the safety rule the mutation breaks, in a few words
    file: str  # relative to the repository root
    original: str  # must occur exactly once in `file`
    replacement: str
    # pytest paths or node ids, fastest killers first (the run stops at the first failure); never a file together
    # with its folder: pytest then collects the file in the folder's order.
    tests: tuple[str, ...]
    fast: bool = False  # part of the CI subset (python -m testing.mutate --fast)
    fast_tests: tuple[str, ...] = ()  # what the CI subset runs: the killing tests alone (default: `tests`)
    timeout_s: float = 300.0  # the whole test run's budget; past it the mutation counts as a timeout
    env: tuple[tuple[str, str], ...] = field(default=())  # extra environment for the test run


# Test sets, fastest first.
RAFT_CORE = "tests/core/raft"
RAFT_SIM = "tests/sim"
RAFT_STORAGE = "tests/services/raft/test_storage.py"
RAFT_PROCESSES = "tests/services/raft"
RAFT = (RAFT_CORE, RAFT_SIM)
COORDINATOR = ("tests/core/test_coordinator.py", "tests/core/test_recovery.py", "tests/core/test_decision_log.py")
PARTICIPANTS = (
    "tests/core/test_twopc_participant.py",
    "tests/core/test_payment_ledger.py",
    "tests/core/test_books_participant.py",
    "tests/core/test_books_state_machine.py",
    "tests/core/test_incarnation_fence.py",
)
TWOPC = (*COORDINATOR, *PARTICIPANTS)

_ELECTION = "utils/raft/core/election.py"
_LOG = "utils/raft/core/log.py"
_RAFT = "utils/raft/core/raft.py"
_REPLICATION = "utils/raft/core/replication.py"
_LEADER = "utils/raft/core/leader.py"
_FOLLOWER = "utils/raft/core/follower.py"
_STORAGE = "utils/raft/storage.py"
_COORDINATOR = "order_executor/core/coordinator.py"
_DECISION_LOG = "order_executor/core/decision_log.py"
_FENCE = "utils/twopc/core/participant.py"
_PAYMENT = "payment_service/core/ledger.py"
_BOOKS = "books_database/core/participant.py"

RAFT_MUTATIONS: tuple[Mutation, ...] = (
    Mutation(
        id="raft-election-restriction",
        rule="Raft §5.4.1: a vote only for a candidate whose log is at least as up to date",
        file=_ELECTION,
        original="if can_vote and r.log.is_up_to_date(m.index, m.log_term):",
        replacement="if can_vote:",
        tests=RAFT,
        fast=True,
        fast_tests=("tests/core/raft/test_election.py",),
    ),
    Mutation(
        id="raft-up-to-date-index",
        rule="Raft §5.4.1: with equal last terms, the longer log is the more up to date",
        file=_LOG,
        original="return term > last_term or (term == last_term and index >= self.last_index)",
        replacement="return term >= last_term",
        tests=RAFT,
    ),
    Mutation(
        id="raft-one-vote-per-term",
        rule="Raft §5.2: at most one vote per term",
        file=_ELECTION,
        original="can_vote = r.vote == m.sender or (r.vote is None and r.leader is None)",
        replacement="can_vote = r.vote == m.sender or r.leader is None",
        tests=RAFT,
    ),
    Mutation(
        id="raft-commit-current-term",
        rule="Raft §5.4.2 (Figure 8): a leader commits by counting replicas only entries of its own term",
        file=_LOG,
        original="if index > self.committed and self.term(index) == term:",
        replacement="if index > self.committed:",
        tests=RAFT,
        fast=True,
        fast_tests=("tests/core/raft/test_replication.py",),
    ),
    Mutation(
        id="raft-commit-by-majority",
        rule="Raft §5.3: an index commits once a majority (not a minority) holds it",
        file="utils/raft/core/quorum.py",
        original="return matches[quorum_size(voters_count) - 1]",
        replacement="return matches[max(0, quorum_size(voters_count) - 2)]",
        tests=RAFT,
    ),
    Mutation(
        id="raft-vote-in-hard-state",
        rule="Figure 2: the vote is part of the durable hard state",
        file=_RAFT,
        original="return HardState(term=self.term, vote=self.vote, commit=self.log.committed)",
        replacement="return HardState(term=self.term, vote=None, commit=self.log.committed)",
        tests=RAFT,
    ),
    Mutation(
        id="raft-ready-persist-before-send",
        rule="Figure 2: hard state and entries are durable before any message leaves (the shared Ready loop)",
        file="utils/raft/ready_loop.py",
        original="""    if handler.persist_ready(ready) is Persisted.CRASHED:
        return None
    # Sent before applying: followers and voters need not wait for a slow state machine. Committed
    # entries are safe to apply in any order relative to sending, since they are already durable.
    handler.send_ready(ready)
""",
        replacement="""    handler.send_ready(ready)
    if handler.persist_ready(ready) is Persisted.CRASHED:
        return None
""",
        tests=(RAFT_SIM, RAFT_CORE),
    ),
    Mutation(
        id="raft-driver-persist-before-send",
        rule="Figure 2: the production driver makes a Ready durable before it sends its messages",
        file="utils/raft/driver.py",
        original="        self._storage.persist(ready.hard_state, ready.entries, ready.snapshot)\n",
        # Sent before persisting (and again after: duplicates are harmless to Raft).
        replacement="        self.send_ready(ready)\n"
        "        self._storage.persist(ready.hard_state, ready.entries, ready.snapshot)\n",
        tests=(RAFT_SIM, RAFT_PROCESSES),
        timeout_s=600.0,
    ),
    Mutation(
        id="raft-fsync-vote",
        rule="Figure 2: a vote is fsynced before it is handed out (the storage's fsync rule; the simulation alone)",
        file=_STORAGE,
        original="or (hard_state is not None and (hard_state.term, hard_state.vote) != stored_term_and_vote)",
        replacement="or (hard_state is not None and hard_state.term != stored_term_and_vote[0])",
        tests=(RAFT_SIM,),
    ),
    Mutation(
        id="raft-fsync-entries",
        rule="Figure 2: entries are fsynced before they are acknowledged (the fsync rule; the simulation alone)",
        file=_STORAGE,
        original="""        bool(entries)
        or snapshot is not None""",
        replacement="""        False
        or snapshot is not None""",
        tests=(RAFT_SIM,),
    ),
    Mutation(
        id="raft-vote-in-hard-state-sim",
        rule="Figure 2: the vote is part of the durable hard state (the simulation alone must catch it)",
        file=_RAFT,
        original="return HardState(term=self.term, vote=self.vote, commit=self.log.committed)",
        replacement="return HardState(term=self.term, vote=None, commit=self.log.committed)",
        tests=(RAFT_SIM,),
    ),
    Mutation(
        id="raft-storage-keeps-vote",
        rule="Figure 2: the driver's storage writes the vote durably",
        file=_STORAGE,
        original="(hard_state.term, hard_state.vote, hard_state.commit),",
        replacement="(hard_state.term, None, hard_state.commit),",
        tests=(RAFT_STORAGE,),
    ),
    Mutation(
        id="raft-storage-snapshot-replaces-log",
        rule="Raft §7: an installed snapshot replaces the whole durable log",
        file=_STORAGE,
        original="""        self._db.execute("DELETE FROM entries")
        self._write_snapshot(snapshot)""",
        replacement="""        self._db.execute("DELETE FROM entries WHERE idx <= ?", (snapshot.index,))
        self._write_snapshot(snapshot)""",
        tests=("tests/services/raft/test_storage_snapshot.py", RAFT_STORAGE),
    ),
    Mutation(
        id="raft-follower-commit-bound",
        rule="Raft §5.3: a follower commits min(leaderCommit, index of the last new entry), not past what it matched",
        file=_LOG,
        original="self.commit_to(min(commit, last_new))",
        replacement="self.commit_to(min(commit, self.last_index))",
        tests=RAFT,
        fast=True,
        fast_tests=("tests/core/raft/test_replication.py",),
    ),
    Mutation(
        id="raft-log-matching",
        rule="Raft §5.3: entries are accepted only after a matching (prevIndex, prevTerm)",
        file=_LOG,
        original="""        if self.term(prev_index) != prev_term:
            return None""",
        replacement="""        if self.term(prev_index) is None:
            return None""",
        tests=RAFT,
    ),
    Mutation(
        id="raft-conflict-truncation",
        rule="Raft §5.3: an entry that conflicts (same index, other term) is replaced with the leader's suffix",
        file=_LOG,
        original="""        for entry in entries:
            if self.term(entry.index) != entry.term:
                return entry.index""",
        replacement="""        for entry in entries:
            if self.term(entry.index) is None:
                return entry.index""",
        tests=RAFT,
    ),
    Mutation(
        id="raft-snapshot-keeps-following-entries",
        rule="Raft §7: a snapshot whose last entry the follower holds keeps the entries after it",
        file=_FOLLOWER,
        original="    elif log.term(snapshot.index) == snapshot.term:",
        replacement="    elif False:",
        tests=RAFT,
    ),
    Mutation(
        id="raft-stale-append-response",
        rule="Raft §5.1: an append response of an older term is ignored, never counted as current",
        file=_RAFT,
        original="""        elif m.term < self.term:
            self._step_lower_term(m)""",
        replacement="""        elif m.term < self.term and m.type is not MessageType.APPEND_RESPONSE:
            self._step_lower_term(m)""",
        tests=RAFT,
        fast=True,
        fast_tests=("tests/core/raft/test_stale_messages.py",),
    ),
    Mutation(
        id="raft-stale-vote-response",
        rule="Raft §5.1/§5.2: a vote granted in an older term is not counted in the current campaign",
        file=_RAFT,
        original="""        elif m.term < self.term:
            self._step_lower_term(m)""",
        replacement="""        elif m.term < self.term and m.type is not MessageType.VOTE_RESPONSE:
            self._step_lower_term(m)""",
        tests=RAFT,
    ),
    Mutation(
        id="raft-stale-append",
        rule="Raft §5.1: an AppendEntries of an older term (a deposed leader) is refused",
        file=_RAFT,
        original="""        elif m.term < self.term:
            self._step_lower_term(m)""",
        replacement="""        elif m.term < self.term and m.type is not MessageType.APPEND:
            self._step_lower_term(m)""",
        tests=RAFT,
    ),
    Mutation(
        id="raft-higher-term-deposes-leader",
        rule="Raft §5.1: a leader that sees a higher term steps down",
        file=_RAFT,
        original="""        if m.term > self.term:
            if not self._step_higher_term(m):""",
        replacement="""        if m.term > self.term and self.role is not Role.LEADER:
            if not self._step_higher_term(m):""",
        tests=RAFT,
    ),
    Mutation(
        id="raft-read-index-own-term-commit",
        rule="Raft thesis §6.4: ReadIndex waits until the leader has committed an entry of its own term",
        file=_LEADER,
        original="    if r.log.term(r.log.committed) != r.term:",
        replacement="    if False:",
        tests=RAFT,
    ),
    Mutation(
        id="raft-read-index-acks-after-registration",
        rule="Raft thesis §6.4: a read is confirmed only by heartbeats sent after it was registered",
        file="utils/raft/core/read_only.py",
        original="position = self._order.index(context) + 1",
        replacement="position = len(self._order)",
        tests=RAFT,
        fast=True,
        fast_tests=("tests/core/raft/test_read_rounds.py",),
    ),
    Mutation(
        id="raft-read-index-quorum",
        rule="Raft thesis §6.4: a read is served only after a quorum confirms the leader",
        file=_REPLICATION,
        original="    if len(r.voters) == 1:\n        r.read_states.append(ReadState(r.log.committed, context))",
        replacement="    if True:\n        r.read_states.append(ReadState(r.log.committed, context))",
        tests=RAFT,
    ),
    Mutation(
        id="raft-read-ack-quorum-count",
        rule="Raft thesis §6.4: a read needs acknowledgements from a quorum, not from any one follower",
        file=_REPLICATION,
        original="if r.read_only.receive_ack(sender, context) >= r.quorum:",
        replacement="if r.read_only.receive_ack(sender, context) >= 2:",
        tests=RAFT,
    ),
    Mutation(
        id="raft-check-quorum-step-down",
        rule="CheckQuorum: a leader cut off from a majority for an election timeout steps down",
        file=_LEADER,
        original="if r.config.check_quorum and not _quorum_recently_active(r):",
        replacement="if False:",
        tests=RAFT,
    ),
    Mutation(
        id="raft-heartbeat-idle-interval",
        rule="Raft §5.2: a follower hears from its leader at least once every heartbeat interval",
        file=_REPLICATION,
        original="if r.progress[peer].idle_ticks >= r.config.heartbeat_ticks:",
        replacement="if r.progress[peer].idle_ticks >= r.config.election_ticks:",
        tests=RAFT,
        fast=True,
        fast_tests=("tests/core/raft/test_idle_heartbeats.py",),
    ),
    Mutation(
        id="raft-heartbeat-carries-commit",
        rule="No message announces a commit alone, so every heartbeat must carry the leader's commit index",
        file=_REPLICATION,
        original="commit=log.committed, context=context)\n    pr.idle_ticks = 0\n\n\ndef broadcast_heartbeat",
        replacement="commit=0, context=context)\n    pr.idle_ticks = 0\n\n\ndef broadcast_heartbeat",
        tests=RAFT,
    ),
)

TWOPC_MUTATIONS: tuple[Mutation, ...] = (
    Mutation(
        id="2pc-decision-durable-before-phase2",
        rule="2PC: Commit/Abort are sent only once the decision is durable in the group's log",
        file=_COORDINATOR,
        original="    return [LogDecision(outcome, reason)], replace(tx, phase=Phase.DECIDING)",
        replacement="    return _start_phase2(tx, outcome, reason)",
        tests=TWOPC,
    ),
    Mutation(
        id="2pc-unanimous-commit",
        rule="2PC: COMMIT only when every participant voted COMMIT",
        file=_COORDINATOR,
        original="    if votes == frozenset(tx.participants):",
        replacement="    if votes:",
        tests=TWOPC,
    ),
    Mutation(
        id="2pc-presumed-abort-resume",
        rule="Presumed abort: a coordinator resuming a transaction with no logged decision aborts it",
        file=_COORDINATOR,
        original='return _decide(resumed, Outcome.ABORT, msg.reason or "coordinator failed before deciding")',
        replacement='return _decide(resumed, Outcome.COMMIT, msg.reason or "coordinator failed before deciding")',
        tests=TWOPC,
        fast=True,
        fast_tests=("tests/core/test_coordinator.py",),
    ),
    Mutation(
        id="2pc-presumed-abort-recovery",
        rule="Presumed abort: recovery of a BEGIN without a decision never resends a COMMIT",
        file="order_executor/core/recovery.py",
        original="    return PresumeAbort(record.order)",
        replacement='    return ResendDecision(record.order, Outcome.COMMIT, "")',
        tests=TWOPC,
    ),
    Mutation(
        id="2pc-log-refuses-commit-unbegun",
        rule="Presumed abort: the decision log refuses a COMMIT for a transaction never begun",
        file=_DECISION_LOG,
        original="            if outcome is not Outcome.ABORT:",
        replacement="            if False:",
        tests=TWOPC,
    ),
    Mutation(
        id="2pc-first-decision-wins",
        rule="2PC: the first decision logged is the decision; a later one never overrides it",
        file=_DECISION_LOG,
        original="        elif known.decision is not None:\n            return Applied(known, False)",
        replacement="        elif known.decision is outcome:\n            return Applied(known, False)",
        tests=TWOPC,
        fast=True,
        fast_tests=("tests/core/test_decision_log.py",),
    ),
    Mutation(
        id="2pc-begin-idempotent",
        rule="Idempotence by order id: a BEGIN logged again resumes the transaction, never restarts it",
        file=_DECISION_LOG,
        original="        if known is not None:\n            return Applied(known, False)  # idempotent by order id",
        replacement="        if known is not None and known.ended:\n            return Applied(known, False)",
        tests=TWOPC,
    ),
    Mutation(
        id="2pc-phase2-retried",
        rule="2PC: phase 2 never gives up; the decision is resent to whoever has not acknowledged",
        file=_COORDINATOR,
        original="    return _send_decision(tx, [p for p in tx.participants if p not in tx.acks]), tx",
        replacement="    return [], tx",
        tests=TWOPC,
    ),
    Mutation(
        id="2pc-term-fence",
        rule="Fencing: a participant refuses a coordinator term older than the newest it has seen",
        file=_FENCE,
        original="        if term < self.newest:\n            return Admission.STALE_TERM",
        replacement="        if False:\n            return Admission.STALE_TERM",
        tests=PARTICIPANTS,
        fast=True,
        fast_tests=("tests/core/test_twopc_participant.py",),
    ),
    Mutation(
        id="2pc-fence-remembers-newest",
        rule="Fencing: the newest coordinator term seen is remembered",
        file=_FENCE,
        original="        return Fence(term, self.incarnation or incarnation)",
        replacement="        return Fence(self.newest, self.incarnation or incarnation)",
        tests=PARTICIPANTS,
    ),
    Mutation(
        id="2pc-incarnation-fence",
        rule="Fencing: a participant refuses calls from an executor-group incarnation other than the one it follows",
        file=_FENCE,
        original="        if self.incarnation and incarnation != self.incarnation:",
        replacement="        if False:",
        tests=PARTICIPANTS,
    ),
    Mutation(
        id="2pc-books-fence",
        rule="Fencing: the books participant refuses a stale coordinator term before any step",
        file=_BOOKS,
        original="        if admission is Admission.STALE_TERM:",
        replacement="        if False:",
        tests=PARTICIPANTS,
    ),
    Mutation(
        id="2pc-books-in-doubt-index",
        rule="The books participant's in-doubt list is exactly its PREPARED transactions: a decided one leaves it",
        file=_BOOKS,
        original="                self._prepared.pop(record.tx_id, None)",
        replacement="                pass",
        tests=PARTICIPANTS,
    ),
    Mutation(
        id="2pc-payment-abort-before-prepare",
        rule="Presumed abort at a participant: an Abort before any Prepare is remembered; a late Prepare votes ABORT",
        file=_PAYMENT,
        original='(S.NONE, I.ABORT): Rule(E.RECORD_ABORT, R.ACK, S.VOIDED, "aborted_before_prepare"),',
        replacement='(S.NONE, I.ABORT): Rule(E.NOTHING, R.ACK, S.NONE, "aborted_before_prepare"),',
        tests=PARTICIPANTS,
    ),
    Mutation(
        id="2pc-books-abort-before-prepare",
        rule="Presumed abort at a participant: the books participant tombstones an Abort before the Prepare",
        file=_BOOKS,
        original="(P.NONE, K.ABORT): Rule(E.TOMBSTONE, P.ABORTED),",
        replacement="(P.NONE, K.ABORT): Rule(E.ACK, P.NONE),",
        tests=PARTICIPANTS,
    ),
    Mutation(
        id="2pc-payment-no-commit-after-abort",
        rule="Atomicity at a participant: a transaction aborted here never captures",
        file=_PAYMENT,
        original='(S.VOIDED, I.COMMIT): Rule(E.REFUSE, R.REFUSED, S.VOIDED, "commit_after_abort"),',
        replacement='(S.VOIDED, I.COMMIT): Rule(E.CAPTURE, R.ACK, S.CAPTURED, "captured"),',
        tests=PARTICIPANTS,
    ),
    Mutation(
        id="2pc-payment-idempotent-commit",
        rule="Idempotent participants: a repeated Commit changes nothing",
        file=_PAYMENT,
        original='(S.CAPTURED, I.COMMIT): Rule(E.NOTHING, R.ACK, S.CAPTURED, "duplicate_commit"),',
        replacement='(S.CAPTURED, I.COMMIT): Rule(E.CAPTURE, R.ACK, S.CAPTURED, "captured"),',
        tests=PARTICIPANTS,
    ),
    Mutation(
        id="2pc-idempotence-check",
        rule="Idempotent participants: a table whose repeated message applies its effect again is refused at load",
        file=_FENCE,
        original="if rule.effect not in no_op_set and repeat is not None and repeat.effect not in no_op_set:",
        replacement="if False:",
        tests=PARTICIPANTS,
    ),
    Mutation(
        id="2pc-batched-end-leaves-begin-result",
        rule="Batched ENDs: ENDs riding on a BEGIN never make a repeated BEGIN look new (no Prepare after a decision)",
        file=_DECISION_LOG,
        original='changed=applied.changed or (op == "ends" and bool(ended)),',
        replacement="changed=applied.changed or bool(ended),",
        tests=("tests/core/test_batched_end_simulation.py", *COORDINATOR),
        fast=True,
        fast_tests=("tests/core/test_batched_end_simulation.py",),
    ),
    Mutation(
        id="2pc-end-after-every-ack",
        rule="2PC: END (which lets a new leader skip the transaction) only once every participant acknowledged",
        file=_COORDINATOR,
        original="    acks = tx.acks | {msg.participant}\n    if acks == frozenset(tx.participants):",
        replacement="    acks = tx.acks | {msg.participant}\n    if acks:",
        tests=("tests/core/test_batched_end_simulation.py", *COORDINATOR),
    ),
)

CAUSAL_MUTATIONS: tuple[Mutation, ...] = (
    Mutation(
        id="vclock-merge-max",
        rule="Vector clocks: a merge keeps the entry-wise maximum",
        file="utils/flow/core/vclock.py",
        original="counters[name] = max(counters.get(name, 0), value)",
        replacement="counters[name] = min(counters.get(name, 0), value) or value",
        tests=("tests/core/test_vclock.py", "tests/core/test_causal_gate.py"),
    ),
    Mutation(
        id="causal-gate-all-predecessors",
        rule="Causal delivery: an event runs only once every predecessor has happened",
        file="utils/flow/core/causal.py",
        original="return all(before in entry.happened for before in self.graph.predecessors[event])",
        replacement="return any(before in entry.happened for before in self.graph.predecessors[event])",
        tests=("tests/core/test_causal_gate.py",),
    ),
    Mutation(
        id="clear-only-if-covered",
        rule="§3.4: a service forgets an order only if its own clock is <= the final clock (batched clears too)",
        file="utils/flow/core/order_table.py",
        original="        if record.clock <= final:\n            del self._records[order_id]",
        replacement="        if True:\n            del self._records[order_id]",
        tests=("tests/core/test_order_table.py", "tests/services/validation/test_clear_batches.py"),
        fast=True,
        fast_tests=("tests/core/test_order_table.py",),
    ),
    Mutation(
        id="clear-batch-bound",
        rule="Due batches: one batch carries at most its cap (a ClearOrders the servicer's, an `ends` entry its own)",
        file="utils/batching/core/due_batch.py",
        original="count = min(self.limits.items_per_batch_max, len(self._pending))",
        replacement="count = len(self._pending)",
        tests=(
            "tests/core/test_due_batch.py",
            "tests/core/test_clear_batch.py",
            "tests/core/test_end_batch.py",
            "tests/services/validation/test_clear_batches.py",
        ),
    ),
    Mutation(
        id="clear-batch-oldest-wait",
        rule="Due batches: the oldest item's wait is bounded (a later add never postpones a clear or an END)",
        file="utils/batching/core/due_batch.py",
        original="oldest_s = self._pending[0][0]",
        replacement="oldest_s = self._pending[-1][0]",
        tests=("tests/core/test_due_batch.py", "tests/core/test_end_batch.py"),
    ),
)

QUEUE_TESTS = ("tests/core/test_ack_batch.py", "tests/services/order_queue/test_store.py")
QUEUE_MUTATIONS: tuple[Mutation, ...] = (
    Mutation(
        id="queue-ack-batch-sequential",
        rule="Ack batches: each ack meets the record the acks before it in the batch left (as one call at a time)",
        file="order_queue/core/ack_batch.py",
        original="        current[ack.order_id] = transition.record\n",
        replacement="",
        tests=QUEUE_TESTS,
        fast=True,
        fast_tests=("tests/core/test_ack_batch.py",),
    ),
    Mutation(
        id="queue-lease-batch-priority",
        rule="Batch lease: orders leave in the policy's service order (rank key, then arrival), as single leases do",
        file="order_queue/store.py",
        original="ORDER BY rank_key DESC, seq ASC LIMIT ?",
        replacement="ORDER BY seq ASC LIMIT ?",
        tests=("tests/services/order_queue/test_store.py",),
        fast=True,
    ),
)

MUTATIONS: tuple[Mutation, ...] = (
    *RAFT_MUTATIONS,
    *TWOPC_MUTATIONS,
    *CAUSAL_MUTATIONS,
    *QUEUE_MUTATIONS,
)
