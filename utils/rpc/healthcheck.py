"""`python -m utils.rpc.healthcheck ADDRESS`: exits 0 when a service answers its health check.

ADDRESS is host:port for the standard gRPC health service, or an http:// URL (200 = healthy).
Used by the containers' HEALTHCHECK and by scripts; the local fleet probes in-process.
"""

from __future__ import annotations

import argparse
import sys
import urllib.request

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def is_serving(address: str, timeout_s: float, service: str = "") -> bool:
    if address.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(address, timeout=timeout_s) as reply:
                return bool(reply.status == 200)
        except OSError:
            return False
    try:
        with grpc.insecure_channel(address) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout_s
            )
            return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)
    except grpc.RpcError:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("address")
    parser.add_argument("--service", default="", help="a service name for gRPC health (default: the server)")
    parser.add_argument("--timeout-s", type=float, default=2.0)
    args = parser.parse_args()
    return 0 if is_serving(args.address, args.timeout_s, args.service) else 1


if __name__ == "__main__":
    sys.exit(main())
