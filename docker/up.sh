#!/usr/bin/env bash
# `make up`: builds the images (offline when no registry answers), starts the fleet, returns once
# every container is healthy. Prints how long the build and the start took.
# Arguments go to `compose up -d` (e.g. `docker/up.sh --profile observability` is not valid there:
# use COMPOSE_PROFILES=observability). COMPOSE_PROJECT_NAME, BOOKSTORE_API_PORT and
# BOOKSTORE_FRONTEND_PORT run a second fleet beside the first (the test suite does).
set -euo pipefail
cd "$(dirname "$0")/.."
compose() { docker/compose.sh "$@"; }
started=$(date +%s)

base="${BASE_IMAGE:-python:3.11-slim-bookworm}"
if ! docker image inspect "$base" >/dev/null 2>&1 && ! timeout 20 docker pull -q "$base" >/dev/null 2>&1; then
  echo "no registry answers for $base: building the base image offline"
  docker/build-base-image.sh bookstore-base:bookworm
  base=bookstore-base:bookworm
fi
export BASE_IMAGE="$base"
docker/build-wheelhouse.sh
image=bookstore-checkout:latest
previous=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
compose build -q books-1
# The image a rebuild replaced is left untagged: remove it unless a container still runs on it.
if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect -f '{{.Id}}' "$image")" ]; then
  docker rmi "$previous" >/dev/null 2>&1 || true
fi
if [[ ",${COMPOSE_PROFILES:-}," == *",observability,"* ]]; then
  docker/build-base-image.sh bookstore-prometheus-base:bookworm prometheus
  compose build -q prometheus
fi
built=$(date +%s)
echo "images built in $((built - started)) s (base $base)"

compose up -d "$@"
docker/wait-healthy.sh "${BOOKSTORE_HEALTHY_TIMEOUT_S:-180}"
echo "fleet healthy in $(( $(date +%s) - built )) s: storefront http://127.0.0.1:${BOOKSTORE_FRONTEND_PORT:-8080}" \
     " API http://127.0.0.1:${BOOKSTORE_API_PORT:-8081}"
