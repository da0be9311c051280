"""A client for a Raft group: finds the leader, follows redirects, retries inside the call's deadline.

Used for the books database and the order-executor group. One budget covers every attempt of a call.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import grpc

from utils.rpc.client import open_channel
from utils.rpc.deadline import budget_s
from utils.rpc.status import OUTCOME_UNKNOWN_KEY, leader_hint, metadata_value
from utils.tls import FleetTls

# metadata_value lives in utils.rpc.status; still exported here, where its callers found it.
__all__ = ["GroupUnavailable", "LeaderClient", "RetryPolicy", "may_have_applied", "metadata_value"]

log = logging.getLogger(__name__)
Stub = TypeVar("Stub")
Response = TypeVar("Response")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    # One replica's share of the budget, so a paused (SIGSTOP) or cut-off replica costs at most this much.
    attempt_timeout_s: float = 1.0
    backoff_initial_s: float = 0.025
    backoff_max_s: float = 0.4
    backoff_multiplier: float = 2.0
    redirects_free_max: int = 3  # redirects followed at once; more than this in one call back off (a loop)

    def __post_init__(self) -> None:
        if min(self.attempt_timeout_s, self.backoff_initial_s, self.backoff_max_s) <= 0:
            raise ValueError("retry timings must be positive")
        if self.backoff_multiplier < 1 or self.redirects_free_max < 0:
            raise ValueError("backoff_multiplier must be >= 1 and redirects_free_max >= 0")


class GroupUnavailable(grpc.RpcError):
    """No replica served the call within its deadline: code UNAVAILABLE, the last failure in the details."""

    def __init__(self, details: str, trailing: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(details)
        self._details = details
        self._trailing = tuple(trailing)

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> tuple[tuple[str, str], ...]:  # type: ignore[override]
        return self._trailing


def may_have_applied(error: grpc.RpcError) -> bool:
    """A timeout, or UNAVAILABLE the server did not mark "0" (a connection cut mid-call): maybe applied."""
    code = error.code()
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        return True
    return code is grpc.StatusCode.UNAVAILABLE and metadata_value(error, OUTCOME_UNKNOWN_KEY) != "0"


class LeaderClient(Generic[Stub]):
    """Calls the leader of a replica group; safe from many threads. `peers` maps replica id to host:port."""

    def __init__(
        self,
        peers: dict[str, str],
        stub_factory: Callable[[grpc.Channel], Stub],
        policy: RetryPolicy = RetryPolicy(),
        rng: random.Random | None = None,
        channel_factory: Callable[[str, str], grpc.Channel] | None = None,
        tls: FleetTls | None = None,
    ) -> None:
        if not peers:
            raise ValueError("a replica group needs at least one address")
        self.peers = dict(peers)
        self._addresses = [peers[node_id] for node_id in sorted(peers)]
        self._stub_factory = stub_factory
        self._policy = policy
        self._rng = rng or random.Random()
        # Each replica's certificate names its id; a redirect names an address, so the id is found by address.
        self._ids = {address: node_id for node_id, address in peers.items()}
        # The group's own retry loop replaces the channel's retry policy: it must also follow redirects.
        self._channel_factory = channel_factory or (
            lambda address, node_id: open_channel(address, node_id, retries=False, tls=tls)
        )
        self._lock = threading.Lock()
        self._channels: dict[str, grpc.Channel] = {}
        self._stubs: dict[str, Stub] = {}
        self._leader: str | None = None

    @property
    def leader_address(self) -> str | None:
        """The last replica that served a call (where the next call goes first)."""
        return self._leader

    def stub(self, address: str) -> Stub:
        with self._lock:
            stub = self._stubs.get(address)
            if stub is None:
                node_id = self._ids.get(address)
                if node_id is None:
                    # A leader hint outside the configured group: never dialled, whatever certificate it has.
                    raise GroupUnavailable(f"{address} is not a replica of this group")
                channel = self._channel_factory(address, node_id)
                self._channels[address] = channel
                stub = self._stubs[address] = self._stub_factory(channel)
            return stub

    def call(
        self,
        method: Callable[[Stub], Callable[..., Response]],
        request: Any,
        *,
        timeout_s: float,
        retry_unknown_outcome: bool = True,
        metadata: Sequence[tuple[str, str]] | None = None,
    ) -> Response:
        """Calls `method(stub)(request)` on the leader, within `timeout_s` for all attempts together.

        Follows FAILED_PRECONDITION + x-leader-address; on UNAVAILABLE or a replica's attempt timing out it
        tries the next replica after a backoff. `retry_unknown_outcome=False` for a write that is not
        idempotent: it is then never resent once it may have been applied. Raises GroupUnavailable when
        the budget runs out (see may_have_applied), or the call's own error for any other status.
        """
        deadline = time.monotonic() + budget_s(timeout_s)
        target = self._leader or self._addresses[0]
        backoff_s = self._policy.backoff_initial_s
        redirects = 0
        failures: list[str] = []
        outcome_unknown = False  # some attempt may have been applied: the caller cannot know if it was
        while True:
            remaining_s = deadline - time.monotonic()
            if remaining_s <= 0:
                raise GroupUnavailable(
                    f"no leader served the call in time ({'; '.join(failures[-3:])})",
                    [(OUTCOME_UNKNOWN_KEY, "1" if outcome_unknown else "0")],
                )
            attempt_s = min(remaining_s, self._policy.attempt_timeout_s)
            try:
                response = method(self.stub(target))(request, timeout=attempt_s, metadata=metadata)
            except grpc.RpcError as error:
                code = error.code()
                hint = leader_hint(error).leader_address
                if hint is not None and hint != target:
                    failures.append(f"{target}: redirected to {hint}")
                    self._forget(target)
                    target, redirects = hint, redirects + 1
                    if redirects <= self._policy.redirects_free_max:
                        continue  # a redirect costs no backoff, unless replicas keep bouncing the call
                elif code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED) or hint is not None:
                    # A dead, paused or leaderless replica (or one naming itself leader while failing): move on.
                    unknown = may_have_applied(error)
                    if unknown and not retry_unknown_outcome:
                        raise
                    outcome_unknown = outcome_unknown or unknown
                    failures.append(f"{target}: {code.name} {error.details() or ''}".strip())
                    self._forget(target)
                    target = self._next_after(target)
                else:
                    raise
                pause_s = min(backoff_s * (0.5 + self._rng.random()), max(0.0, deadline - time.monotonic()))
                time.sleep(pause_s)
                backoff_s = min(backoff_s * self._policy.backoff_multiplier, self._policy.backoff_max_s)
                continue
            self._leader = target
            return response

    def call_each(
        self, method: Callable[[Stub], Callable[..., Response]], request: Any, *, timeout_s: float
    ) -> dict[str, Response | grpc.RpcError]:
        """Calls every replica at once (no redirects), e.g. Status for a cluster view: id → reply or error."""
        call_timeout_s = budget_s(timeout_s)

        def one(address: str) -> Response | grpc.RpcError:
            try:
                return method(self.stub(address))(request, timeout=call_timeout_s)
            except grpc.RpcError as error:
                return error

        with ThreadPoolExecutor(max_workers=len(self.peers), thread_name_prefix="group-call") as pool:
            futures = {node_id: pool.submit(one, address) for node_id, address in sorted(self.peers.items())}
            return {node_id: future.result() for node_id, future in futures.items()}

    def close(self) -> None:
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()
            self._stubs.clear()

    def _forget(self, address: str) -> None:
        if self._leader == address:
            self._leader = None

    def _next_after(self, address: str) -> str:
        if address not in self._addresses:
            return self._addresses[0]
        return self._addresses[(self._addresses.index(address) + 1) % len(self._addresses)]
