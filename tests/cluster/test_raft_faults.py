"""Three raft_kv_server processes under real faults (SIGKILL, SIGSTOP, one process cut off by iptables), each
scenario a test that asserts its bound: idle RPC budget, PreVote, lost uncommitted writes, fast backtracking,
a paused backup, failover time. The group is shared by the module; each test starts from a steady state."""

from __future__ import annotations

import math
import threading
import time

import pytest

from testing.pb.raft_kv import raft_kv_pb2
from testing.raft_kv_client import KvClient, Outcome
from testing.raft_kv_cluster import KvCluster
from tests.cluster.kv import (
    ELECTION_MAX_S,
    ELECTION_MIN_S,
    HEARTBEAT_S,
    DurableLog,
    caught_up,
    kill_leader_and_time_the_election,
    median,
    read_log,
    rpcs,
    status,
    steady,
    wait_until,
)

pytestmark = [pytest.mark.fleet, pytest.mark.timeout(120)]
IDLE_WINDOW_S = 2.0
CUT_OFF_S = 3 * ELECTION_MAX_S  # several election timeouts
FAILOVER_RUNS = 5
FAILOVER_MEDIAN_MAX_S = 1.0
LOAD_OUTSTANDING = 256  # the stale leader's proposals in flight when it is cut off: its divergent tail


def test_an_idle_cluster_sends_one_heartbeat_per_interval_per_follower_and_nothing_else(
    cluster: KvCluster,
) -> None:
    leader = cluster.wait_for_leader()
    before = {n: status(cluster, n) for n in cluster.replicas}
    started = time.monotonic()
    time.sleep(IDLE_WINDOW_S)  # the measuring window, not a wait for a condition
    after = {n: status(cluster, n) for n in cluster.replicas}
    elapsed = time.monotonic() - started
    followers = [n for n in cluster.replicas if n != leader]
    per_follower_per_s = (rpcs(after[leader]) - rpcs(before[leader])) / elapsed / len(followers)
    # At most one heartbeat per heartbeat interval (plus one batch after the window's edges), and at least one
    # per minimum election timeout, or a follower would have started an election.
    assert 1 / ELECTION_MIN_S <= per_follower_per_s <= 1 / HEARTBEAT_S + 2 / elapsed, per_follower_per_s
    for n in followers:  # a follower's answers ride on the leader's calls: it sends nothing of its own
        assert rpcs(after[n]) == rpcs(before[n]), f"idle follower {n} sent peer RPCs"
    assert {s.term for s in after.values()} == {before[leader].term} and after[leader].role == "leader"

    print(f"idle: {per_follower_per_s:.1f} heartbeats/s per follower")
    # RPCs per election: asserted on each SIGKILL of the failover test below.


def test_a_follower_cut_off_for_several_election_timeouts_rejoins_without_disturbing_the_leader(
    cluster: KvCluster,
) -> None:
    leader = cluster.wait_for_leader()
    term = status(cluster, leader).term
    follower = next(n for n in cluster.replicas if n != leader)
    client = KvClient(cluster.addresses)
    try:
        cluster.isolate(follower)
        cut_at = time.monotonic()
        for i in range(20):  # the log grows while it is away
            assert client.write("put", f"away{i}", "x", node_id=leader) is Outcome.OK
        time.sleep(max(0.0, CUT_OFF_S - (time.monotonic() - cut_at)))  # the fault's duration
        cluster.heal(follower)
        catch_up_s = wait_until(lambda: caught_up(cluster, follower, leader), "the healed follower to catch up", 5)
    finally:
        client.close()
    after = {n: status(cluster, n) for n in cluster.replicas}
    print(f"cut off {CUT_OFF_S:.1f} s; caught up {catch_up_s:.2f} s after healing")
    # PreVote: alone, it never won a pre-vote, so it never raised its term; the leader was never deposed.
    assert after[leader].role == "leader" and {s.term for s in after.values()} == {term}, after
    assert catch_up_s <= 1.0


def cut_off_leader_with_an_uncommitted_tail(cluster: KvCluster) -> tuple[str, str, list[tuple[int, int]]]:
    """Cuts the leader off while LOAD_OUTSTANDING proposals of its own are in flight; the other two elect a leader
    and commit entries of their own. (old leader, new leader, the old leader's entries the new leader lacks)."""
    old = cluster.wait_for_leader()
    commit = status(cluster, old).commit_index
    # The leader's own proposers (the Load RPC), so the proposals keep coming after clients are cut off too.
    load = cluster.replicas[old].kv.Load.future(
        raft_kv_pb2.LoadRequest(outstanding=LOAD_OUTSTANDING, seconds=1.5, value_bytes=16), timeout=10
    )
    wait_until(lambda: status(cluster, old).commit_index >= commit + 50, "the load to commit entries")
    cluster.isolate(old)
    new = cluster.wait_for_leader(exclude=frozenset({old}))
    load.cancel()  # its answer is lost with the cut: what matters is the log it left
    mine = read_log(cluster, old)
    # The majority's log grows past the stale tail's end: a leader backtracking one entry (or one hint) per round
    # trip would then walk the whole tail, since every entry of it conflicts.
    while read_log(cluster, new).last_index <= mine.last_index + 50:
        cluster.replicas[new].kv.Load(raft_kv_pb2.LoadRequest(outstanding=32, seconds=0.3, value_bytes=16), timeout=10)
    theirs = read_log(cluster, new)
    divergent = [(e.index, e.term) for e in mine.entries if theirs.term_at(e.index) not in (None, e.term)]
    assert len(divergent) >= 20, f"the cut-off leader has only {len(divergent)} uncommitted entries"
    assert theirs.snapshot_index < commit, "the new leader compacted its log: a snapshot would repair it"
    return old, new, divergent


def assert_logs_identical(logs: dict[str, DurableLog]) -> None:
    assert len({log.last_index for log in logs.values()}) == 1, {n: log.last_index for n, log in logs.items()}
    common_from = max(log.snapshot_index for log in logs.values()) + 1
    tails = {n: [e for e in log.entries if e.index >= common_from] for n, log in logs.items()}
    first = next(iter(tails.values()))
    assert first, "no common entries to compare"
    for n, tail in tails.items():
        assert tail == first, f"{n}'s log differs from the others' after index {common_from}"


def test_a_leader_cut_off_loses_the_writes_it_could_not_commit_and_every_log_ends_identical(
    cluster: KvCluster,
) -> None:
    old, new, divergent = cut_off_leader_with_an_uncommitted_tail(cluster)
    cluster.heal(old)
    wait_until(
        lambda: (
            all(cluster.status(n) is not None for n in cluster.replicas)
            and len({status(cluster, n).last_index for n in cluster.replicas}) == 1
            and caught_up(cluster, old, new)
        ),
        "the old leader to take the new leader's log",
    )
    digests = cluster.wait_until_converged()
    logs = {n: read_log(cluster, n) for n in cluster.replicas}
    for n, log in logs.items():
        entries = log.by_index()
        survived = [(i, t) for i, t in divergent if i in entries and entries[i].term == t]
        assert not survived, f"{n} still holds uncommitted entries of the cut-off leader: {survived[:5]}"
    assert_logs_identical(logs)
    assert len({d.sha256 for d in digests.values()}) == 1
    print(f"{len(divergent)} uncommitted entries of {old} gone from every log")


def test_fast_backtracking_repairs_a_stale_leaders_long_divergent_tail_in_a_few_round_trips(
    cluster: KvCluster,
) -> None:
    old, new, divergent = cut_off_leader_with_an_uncommitted_tail(cluster)
    terms = len({t for _, t in divergent})
    before = status(cluster, new)
    healed_at = time.monotonic()
    cluster.heal(old)
    repair_s = wait_until(
        lambda: (
            (s := cluster.status(old)) is not None
            and s.last_index == status(cluster, new).last_index
            and s.term == status(cluster, new).term
        ),
        "the stale leader's log to be repaired",
    )
    after = status(cluster, new)
    answered = after.peer_rpcs_sent - before.peer_rpcs_sent
    # Everything but the probes: each follower's heartbeats over the repair, the one call to the stale node
    # in flight at the heal, and its queued messages flushed on reconnecting (at most one batch of each kind).
    heartbeats = 2 * (math.ceil((time.monotonic() - healed_at) / HEARTBEAT_S) + 1) + 3
    probes = max(0, answered - heartbeats)
    allowed = 2 * (terms + 1)  # a probe per conflicting term, plus the one that finds the match and the append
    print(
        f"{len(divergent)} divergent entries in {terms} term(s) repaired in {repair_s:.2f} s: {answered} RPCs "
        f"answered, {heartbeats} allowed for heartbeats, so {probes} probes (bound {allowed})"
    )
    assert probes <= allowed, f"{probes} append round trips to repair {len(divergent)} entries in {terms} term(s)"
    assert len(divergent) > 4 * (allowed + heartbeats), "the tail is too short to tell O(terms) from O(entries)"


def applied_index(cluster: KvCluster, node_id: str) -> int:
    reply = cluster.status(node_id)
    return -1 if reply is None else reply.applied_index


def test_a_backup_paused_under_write_load_does_not_stop_writes_and_catches_up_after_resuming(
    cluster: KvCluster,
) -> None:
    leader = cluster.wait_for_leader()
    term = status(cluster, leader).term
    backup = next(n for n in cluster.replicas if n != leader)
    acknowledged: list[float] = []
    failed: list[Outcome] = []
    stop = threading.Event()

    def writer() -> None:
        client = KvClient(cluster.addresses)
        try:
            for i in range(1_000_000):
                if stop.is_set():
                    return
                outcome = client.write("put", f"load{i % 10}", str(i), timeout_s=2)
                (acknowledged.append(time.monotonic()) if outcome is Outcome.OK else failed.append(outcome))
        finally:
            client.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        wait_until(lambda: len(acknowledged) >= 10, "writes before the pause")
        cluster.pause(backup)
        paused_at = time.monotonic()
        wait_until(
            lambda: (
                sum(t > paused_at for t in acknowledged) >= 30 and time.monotonic() - paused_at >= 2 * ELECTION_MAX_S
            ),
            "writes with two of three",
        )
        during = sum(t > paused_at for t in acknowledged)
        cluster.resume(backup)
        # Writes go on meanwhile, so the leader's commit index is a moving target that a follower trails by the
        # entries in flight: caught up means holding what was committed while it was paused.
        committed_while_paused = status(cluster, leader).commit_index
        catch_up_s = wait_until(
            lambda: applied_index(cluster, backup) >= committed_while_paused, "the resumed backup to catch up", 5
        )
    finally:
        stop.set()
        thread.join(timeout=10)
    cluster.wait_until_converged()
    print(f"{during} writes acknowledged while {backup} was paused; caught up {catch_up_s:.2f} s after SIGCONT")
    assert not failed, f"writes failed while only a backup was paused: {failed[:5]}"
    assert status(cluster, leader).role == "leader" and status(cluster, leader).term == term


def test_a_new_leader_is_elected_within_a_second_of_a_sigkill_median_of_five_with_few_rpcs_per_election(
    cluster: KvCluster,
) -> None:
    runs = []
    for _ in range(FAILOVER_RUNS):
        steady(cluster)
        time.sleep(2 * HEARTBEAT_S)  # heartbeats flowing after the restart: not a wait for a condition
        runs.append(kill_leader_and_time_the_election(cluster))
    seconds = sorted(r.seconds for r in runs)
    print(f"SIGKILL → new leader: {', '.join(f'{s:.2f}' for s in seconds)} s; median {median(seconds):.2f} s")
    print(f"RPCs per election: {[r.election_rpcs for r in runs]} (bounds {[r.rpcs_allowed for r in runs]})")
    assert median(seconds) <= FAILOVER_MEDIAN_MAX_S, seconds
    assert max(seconds) <= 3 * ELECTION_MAX_S, seconds  # no run needed more than a few election rounds
    for run in runs:  # RPCs per election, against the bound derived from the tick settings
        assert 2 <= run.election_rpcs <= run.rpcs_allowed, run
