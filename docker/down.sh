#!/usr/bin/env bash
# `make down`: stops and removes the fleet's containers and network, the optional profiles' too
# (observability, lgtm). The named volumes (orders, ledgers, Raft logs) stay for the next `make up`;
# `docker/down.sh --volumes` removes them as well.
set -euo pipefail
cd "$(dirname "$0")/.."
COMPOSE_PROFILES="observability,lgtm" exec docker/compose.sh down --remove-orphans "$@"
