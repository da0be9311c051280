"""Client channels: mutual TLS to a named peer identity, correlation id and retries built in, a deadline per call.

Retries of UNAVAILABLE come from one gRPC service config (bounded attempts, backoff, throttling).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import grpc

from utils.rpc.deadline import budget_s
from utils.rpc.interceptors import ClientInterceptor
from utils.rpc.trust import installed_trust
from utils.telemetry import instrument_grpc_clients
from utils.tls import FleetTls

Response = TypeVar("Response")

RETRY_ATTEMPTS_MAX = 3
_SERVICE_CONFIG = json.dumps(
    {
        "methodConfig": [
            {
                "name": [{}],  # every method of every service
                "retryPolicy": {
                    "maxAttempts": RETRY_ATTEMPTS_MAX,
                    "initialBackoff": "0.05s",
                    "maxBackoff": "0.5s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ],
        # Stop retrying when more than half the recent calls failed, so retries never amplify an outage.
        "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.5},
    }
)
_CHANNEL_OPTIONS: list[tuple[str, str | int]] = [
    ("grpc.service_config", _SERVICE_CONFIG),
    ("grpc.enable_retries", 1),
    ("grpc.keepalive_time_ms", 30_000),
    # Reconnect quickly after a peer restarts, instead of gRPC's default backoff of up to 2 minutes.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1_000),
    ("grpc.min_reconnect_backoff_ms", 100),
]


def open_channel(target: str, peer: str, *, retries: bool = True, tls: FleetTls | None = None) -> grpc.Channel:
    """A mutual-TLS channel to `target` (host:port) that accepts only `peer`'s certificate, with the shared retry
    policy and interceptors. `tls`: the identity to present (default: the process's own)."""
    instrument_grpc_clients()  # spans per call only when they are exported
    options = list(_CHANNEL_OPTIONS)
    if not retries:
        options = [o for o in options if o[0] not in ("grpc.service_config", "grpc.enable_retries")]
        options.append(("grpc.enable_retries", 0))
    own = tls or installed_trust().tls
    return grpc.intercept_channel(own.secure_channel(target, peer, options), ClientInterceptor())


def call(
    rpc: Callable[..., Response],
    request: Any,
    *,
    timeout_s: float,
    metadata: list[tuple[str, str]] | None = None,
    wait_for_ready: bool = False,
) -> Response:
    """Calls a unary RPC with a deadline: `timeout_s`, capped by the serving request's remaining budget.

    `wait_for_ready`: a peer that cannot be reached yet (its name does not resolve, its port refuses) is waited for
    until the deadline instead of failing at once with UNAVAILABLE; for calls whose failure decides something."""
    if wait_for_ready:
        return rpc(request, timeout=budget_s(timeout_s), metadata=metadata, wait_for_ready=True)
    return rpc(request, timeout=budget_s(timeout_s), metadata=metadata)
