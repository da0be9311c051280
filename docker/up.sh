#!/usr/bin/env bash
# `make up`: builds the images (offline when no registry answers), starts the fleet, returns once
# every container is healthy. Prints how long the build and the start took.
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
compose build -q books-1
built=$(date +%s)
echo "images built in $((built - started)) s"

compose up -d "$@"
docker/wait-healthy.sh 180
echo "fleet healthy in $(( $(date +%s) - built )) s: storefront http://127.0.0.1:8080  API http://127.0.0.1:8081"
