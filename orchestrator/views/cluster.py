"""GET /cluster: both Raft groups' replicas (role, term, leader, log position) and the queue depth."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from orchestrator.dependencies import deps

blueprint = Blueprint("cluster", __name__)


@blueprint.get("/cluster")
def get_cluster() -> dict[str, Any]:
    return deps().cluster.snapshot()
