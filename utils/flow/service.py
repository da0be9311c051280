"""Builds a validation service's gRPC server around its FlowNode, so each service wires only its rules.

The node starts with the server and stops (with its transport) before the server does.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc

from utils.flow.node import FlowNode
from utils.flow.transport import GrpcFlowTransport
from utils.rpc.server import GrpcService
from utils.settings import RuntimeSettings


def flow_service(
    node: FlowNode,
    transport: GrpcFlowTransport,
    register: Callable[[grpc.Server], None],
    service_name: str,
    listen: str,
    runtime: RuntimeSettings | None = None,
) -> GrpcService:
    """`register` adds the servicer to a server; `service_name` is its full proto name (health, reflection)."""
    runtime = runtime or RuntimeSettings()
    transport.present_as(node.service.value)  # the flow's peers allow each event only from its sender's service
    node.start()
    return GrpcService(
        node.service.value,
        listen,
        [register],
        [service_name],
        workers_max=runtime.grpc_workers_max,
        shutdown_grace_s=runtime.shutdown_grace_s,
        on_stop=[node.stop, transport.close],
        identity=node.service.value,  # the name its peers dial (utils/flow/transport.py)
    )
