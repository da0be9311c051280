#!/usr/bin/env bash
# Removes the stack deploy/swarm/up.sh deployed: its services, and once their containers are gone its network.
# Usage: deploy/swarm/down.sh [STACK] [--volumes]  — --volumes also removes the named volumes (orders, ledgers,
# Raft logs) and the stack's CA and certificates (BOOKSTORE_SWARM_PKI, default .build/swarm/<stack>), which
# otherwise stay for the next deploy. Leaves the swarm itself alone (`docker swarm leave --force`).
set -euo pipefail
stack="${BOOKSTORE_STACK:-bookstore}"
volumes=false
for arg in "$@"; do
  case "$arg" in
    --volumes) volumes=true ;;
    -*) echo "unknown option $arg" >&2; exit 2 ;;
    *) stack="$arg" ;;
  esac
done
label="com.docker.stack.namespace=$stack"
timeout_s="${BOOKSTORE_DOWN_TIMEOUT_S:-90}"
deadline=$(( $(date +%s) + timeout_s ))

if [ -n "$(docker stack ls --format '{{.Name}}' | grep -Fx "$stack" || true)" ]; then
  docker stack rm "$stack"
fi
# `docker stack rm` returns before the tasks' containers are gone; a volume in use cannot be removed.
while [ -n "$(docker ps -aq --filter "label=$label")" ]; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "containers of $stack still there after ${timeout_s} s" >&2; exit 1
  fi
  sleep 1
done
for network in $(docker network ls -q --filter "label=$label"); do
  docker network rm "$network" >/dev/null 2>&1 || true
done
if $volumes; then
  for volume in $(docker volume ls -q --filter "label=$label"); do
    docker volume rm "$volume" >/dev/null
  done
  rm -rf "${BOOKSTORE_SWARM_PKI:-$(cd "$(dirname "$0")/../.." && pwd)/.build/swarm/$stack}"
fi
echo "stack $stack removed$($volumes && echo ', with its volumes' || true)"
