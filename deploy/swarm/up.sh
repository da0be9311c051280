#!/usr/bin/env bash
# Deploys the fleet as a Docker Swarm stack (deploy/swarm/stack.yaml) and returns once every service has its
# task running and healthy. Usage: deploy/swarm/up.sh [STACK]  (default: bookstore).
# Needs an engine in swarm mode (`docker swarm init --advertise-addr 127.0.0.1` on one machine) and the image
# bookstore-checkout:latest (or BOOKSTORE_IMAGE, e.g. from a registry) on every node that runs a task (`make up` or
# docker/up.sh builds it).
# First it issues the fleet's certificates (python -m utils.tls in the image; idempotent) into
# BOOKSTORE_SWARM_PKI (default .build/swarm/<stack>/: ca/ the CA with its key, tls/ the services' certificates and
# keys, which the stack hands out as Swarm secrets, operator/ the operator's for operator commands).
# BOOKSTORE_API_PORT / BOOKSTORE_FRONTEND_PORT move the published ports (8081 / 8080); BOOKSTORE_OPERATOR_TOKEN is
# the gateway's operator credential for stock writes (none: refused); BOOKSTORE_HEALTHY_TIMEOUT_S bounds the wait.
set -euo pipefail
cd "$(dirname "$0")/../.."
stack="${1:-${BOOKSTORE_STACK:-bookstore}}"
export BOOKSTORE_IMAGE="${BOOKSTORE_IMAGE:-bookstore-checkout:latest}"
image="$BOOKSTORE_IMAGE"
timeout_s="${BOOKSTORE_HEALTHY_TIMEOUT_S:-180}"

if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != "active" ]; then
  echo "this engine is not in a swarm: docker swarm init --advertise-addr 127.0.0.1 (one machine)" >&2; exit 1
fi
if ! docker image inspect "$image" >/dev/null 2>&1; then
  echo "no image $image here: build it with make up (or docker/up.sh)" >&2; exit 1
fi
started=$(date +%s)

# Each Raft replica runs only on the node labelled for it (its volume lives there). A one-node swarm gets every
# label; on more nodes the labels are the operator's choice (docs/swarm.md), and a missing one is named here.
replicas="books-1 books-2 books-3 executor-1 executor-2 executor-3"
nodes=$(docker node ls -q)
if [ "$(echo "$nodes" | wc -w)" = 1 ]; then
  docker node update $(for r in $replicas; do echo --label-add "bookstore.$r=true"; done) "$nodes" >/dev/null
else
  for r in $replicas; do
    labelled=$(docker node ls -q --filter "node.label=bookstore.$r=true" | wc -w)
    [ "$labelled" -ge 1 ] || { echo "no node is labelled bookstore.$r=true (docs/swarm.md)" >&2; exit 1; }
  done
fi

# The identities of docs/trust.md: the replicas' node ids and the singletons' names (the frontend speaks no gRPC).
identities="books-1 books-2 books-3 executor-1 executor-2 executor-3 payment_service order_queue
  transaction_verification fraud_detection suggestions orchestrator"
export BOOKSTORE_SWARM_PKI="${BOOKSTORE_SWARM_PKI:-$PWD/.build/swarm/$stack}"
mkdir -p "$BOOKSTORE_SWARM_PKI" && chmod 700 "$BOOKSTORE_SWARM_PKI"
docker run --rm --network none --user "$(id -u):$(id -g)" -v "$BOOKSTORE_SWARM_PKI:/pki" "$image" sh -c \
  "python -m utils.tls issue --ca-dir /pki/ca --out /pki/tls $(echo $identities) \
   && python -m utils.tls issue --ca-dir /pki/ca --out /pki/operator operator"
# --resolve-image never: the image is local (built offline), there is no registry to ask for its digest.
docker stack deploy --resolve-image never --prune --compose-file deploy/swarm/stack.yaml "$stack"

deadline=$(( started + timeout_s ))
while :; do
  # "<name> <running>/<desired>" per service; a task counts as running once its health check passed.
  pending=$(docker stack services "$stack" --format '{{.Name}} {{.Replicas}}' | awk '{split($2, r, "/"); if (r[1] != r[2] || r[2] == 0) print $1}')
  [ -z "$pending" ] && break
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "not running and healthy after ${timeout_s} s: $(echo $pending)" >&2
    docker stack ps "$stack" --no-trunc --format '{{.Name}} {{.CurrentState}} {{.Error}}' | head -40 >&2
    exit 1
  fi
  sleep 2
done
echo "stack $stack healthy in $(( $(date +%s) - started )) s: storefront http://127.0.0.1:${BOOKSTORE_FRONTEND_PORT:-8080}" \
     " API http://127.0.0.1:${BOOKSTORE_API_PORT:-8081}"
