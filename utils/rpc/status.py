"""The gRPC status vocabulary the services share: trailing-metadata keys, one abort, Raft's errors as statuses.

Servers put a NotLeader or RaftUnavailable on the wire through here; clients read the leader it names through here too.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn

import grpc

from utils.raft.errors import NotLeader, RaftUnavailable

LEADER_ID_KEY = "x-leader-id"  # on a follower's FAILED_PRECONDITION: the leader's replica id ("" unknown)
LEADER_ADDRESS_KEY = "x-leader-address"  # ... and its host:port ("" unknown): where the client goes instead
# On UNAVAILABLE: "1" the write may have been committed, "0" it certainly was not. A bare UNAVAILABLE (no such
# metadata: the connection failed, perhaps mid-call) counts as "1".
OUTCOME_UNKNOWN_KEY = "x-outcome-unknown"
RAFT_OUTCOME_KEY = "x-raft-outcome"  # the raft_kv harness's "certainly not applied": NOT_APPLIED on UNAVAILABLE
NOT_APPLIED = "not-applied"
REASON_KEY = "x-reason"  # a refusal's machine-readable reason (the books database's Reason names)

Metadata = tuple[tuple[str, str], ...]


def abort(
    context: grpc.ServicerContext,
    code: grpc.StatusCode,
    detail: str,
    *,
    reason: str | None = None,
    metadata: Sequence[tuple[str, str]] = (),
) -> NoReturn:
    """Ends the call with `code`; `reason` goes out as x-reason, with any other trailing `metadata`."""
    trailing = (*metadata, (REASON_KEY, reason)) if reason is not None else tuple(metadata)
    if trailing:
        context.set_trailing_metadata(trailing)
    context.abort(code, detail)
    raise AssertionError("unreachable: context.abort raises")


class Unavailability(enum.Enum):
    """How a service tells its clients whether a write that failed in Raft may still commit."""

    # may commit: DEADLINE_EXCEEDED (gRPC's own meaning); certainly not: UNAVAILABLE + x-raft-outcome.
    DEADLINE = "deadline"
    # UNAVAILABLE either way (its writes carry ids, so a retry applies once), x-outcome-unknown says which.
    OUTCOME_METADATA = "outcome-metadata"
    # UNAVAILABLE and nothing more, overloaded too: the caller moves on to another replica whatever happened.
    PLAIN = "plain"


@dataclass(frozen=True, slots=True)
class RaftErrorWire:
    """One service's spelling of Raft's errors; the defaults are the mapping utils/raft/errors.py describes."""

    unavailability: Unavailability = Unavailability.DEADLINE
    redirect_without_leader: bool = True  # False: NotLeader naming no leader yet is UNAVAILABLE, not applied
    describe: Callable[[NotLeader | RaftUnavailable], str] = str  # the status detail


@dataclass(frozen=True, slots=True)
class RpcStatus:
    code: grpc.StatusCode
    detail: str
    metadata: Metadata = ()


def raft_error_status(error: NotLeader | RaftUnavailable, wire: RaftErrorWire = RaftErrorWire()) -> RpcStatus:
    """The status a Raft error becomes: NotLeader a redirect, RaftUnavailable per `wire.unavailability`."""
    detail = wire.describe(error)
    if isinstance(error, NotLeader):
        if error.leader_address or wire.redirect_without_leader:
            return RpcStatus(
                grpc.StatusCode.FAILED_PRECONDITION,
                detail,
                ((LEADER_ID_KEY, error.leader_id or ""), (LEADER_ADDRESS_KEY, error.leader_address or "")),
            )
        return _unavailable(detail, wire.unavailability, outcome_unknown=False, overloaded=False)
    return _unavailable(detail, wire.unavailability, outcome_unknown=error.outcome_unknown, overloaded=error.overloaded)


def _unavailable(detail: str, style: Unavailability, *, outcome_unknown: bool, overloaded: bool) -> RpcStatus:
    if style is Unavailability.PLAIN:
        return RpcStatus(grpc.StatusCode.UNAVAILABLE, detail)
    if overloaded:
        return RpcStatus(grpc.StatusCode.RESOURCE_EXHAUSTED, detail)
    if style is Unavailability.OUTCOME_METADATA:
        return RpcStatus(grpc.StatusCode.UNAVAILABLE, detail, ((OUTCOME_UNKNOWN_KEY, "1" if outcome_unknown else "0"),))
    if outcome_unknown:
        return RpcStatus(grpc.StatusCode.DEADLINE_EXCEEDED, detail)
    return RpcStatus(grpc.StatusCode.UNAVAILABLE, detail, ((RAFT_OUTCOME_KEY, NOT_APPLIED),))


def abort_for_raft_error(
    context: grpc.ServicerContext, error: NotLeader | RaftUnavailable, wire: RaftErrorWire = RaftErrorWire()
) -> NoReturn:
    status = raft_error_status(error, wire)
    abort(context, status.code, status.detail, metadata=status.metadata)


# ---- the client's side ---------------------------------------------------------------------------


def metadata_value(error: grpc.RpcError, key: str) -> str | None:
    """A trailing-metadata value of a failed call (None when absent or not an RPC failure)."""
    trailing = getattr(error, "trailing_metadata", None)
    for item in (trailing() if callable(trailing) else None) or ():
        item_key, value = (item.key, item.value) if hasattr(item, "key") else item
        if item_key == key:
            return str(value)
    return None


@dataclass(frozen=True, slots=True)
class LeaderHint:
    """The leader a follower's FAILED_PRECONDITION names, as sent ("": the follower knows none; None: not said)."""

    leader_id: str | None = None
    leader_address: str | None = None


def leader_hint(error: grpc.RpcError) -> LeaderHint:
    """Where a failed call says the leader is; empty for any status but FAILED_PRECONDITION."""
    if error.code() is not grpc.StatusCode.FAILED_PRECONDITION:
        return LeaderHint()
    return LeaderHint(metadata_value(error, LEADER_ID_KEY), metadata_value(error, LEADER_ADDRESS_KEY))
