#!/usr/bin/env bash
# Waits until every container of the compose project with a health check reports healthy (and one-shots exited 0).
set -euo pipefail
cd "$(dirname "$0")/.."
timeout_s="${1:-180}"
deadline=$(( $(date +%s) + timeout_s ))
while :; do
  ids=$(docker/compose.sh ps -q)
  unhealthy=""
  for id in $ids; do
    # A one-shot without a health check (pki) counts once it has exited 0.
    state=$(docker inspect -f '{{.Name}} {{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{if eq .State.Status "exited"}} {{.State.ExitCode}}{{end}}{{end}}' "$id")
    case "$state" in *" healthy"|*" running"|*" exited 0") ;; *) unhealthy="$unhealthy ${state}";; esac
  done
  [ -n "$ids" ] && [ -z "$unhealthy" ] && exit 0
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "not healthy after ${timeout_s} s:${unhealthy}" >&2; exit 1
  fi
  sleep 2
done
