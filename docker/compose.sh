#!/usr/bin/env bash
# Runs Compose with whichever client this host has: `docker compose` (v2) or `docker-compose` (v1).
if docker compose version >/dev/null 2>&1; then exec docker compose "$@"; fi
exec docker-compose "$@"
