"""`python -m utils.rpc.healthcheck ADDRESS`: exits 0 when a service answers its health check.

ADDRESS is a health-only port (plaintext, host:port; the API port + 2000 by default), or an http:// URL (200 =
healthy). In-fleet callers that hold a certificate may ask a service's API port instead (`peer=` its identity).
"""

from __future__ import annotations

import argparse
import sys
import urllib.request

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from utils.rpc.trust import installed_trust


def is_serving(address: str, timeout_s: float, service: str = "", *, peer: str | None = None) -> bool:
    """`peer` None: `address` is a plaintext health-only port. Else the API port of `peer`, over mutual TLS."""
    if address.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(address, timeout=timeout_s) as reply:
                return bool(reply.status == 200)
        except OSError:
            return False
    try:
        with _health_channel(address, peer) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout_s
            )
            return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)
    except grpc.RpcError:
        return False


def _health_channel(address: str, peer: str | None) -> grpc.Channel:
    if peer is None:
        return grpc.insecure_channel(address)  # the health-only port serves nothing but grpc.health.v1
    return installed_trust().tls.secure_channel(address, peer)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("address")
    parser.add_argument("--service", default="", help='a service name for gRPC health ("ready" for readiness)')
    parser.add_argument("--timeout-s", type=float, default=2.0)
    args = parser.parse_args()
    return 0 if is_serving(args.address, args.timeout_s, args.service) else 1


if __name__ == "__main__":
    sys.exit(main())
