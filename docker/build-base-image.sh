#!/usr/bin/env bash
# Builds the fleet's base image offline: a Debian bookworm root with python3 from Debian's packages,
# made by debootstrap and imported into Docker. For hosts that reach no container registry.
set -euo pipefail
# Usage: build-base-image.sh [IMAGE [PACKAGES]] — defaults build the services' base with python3;
# `build-base-image.sh bookstore-prometheus-base:bookworm prometheus` builds the Prometheus one.
IMAGE="${1:-bookstore-base:bookworm}"
PACKAGES="${2:-python3,python3-venv,ca-certificates}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "base image $IMAGE exists"; exit 0
fi
if ! command -v debootstrap >/dev/null; then
  apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null
fi
root="$(mktemp -d /tmp/bookstore-rootfs.XXXXXX)"
trap 'rm -rf "$root"' EXIT
echo "debootstrap bookworm into $root (about a minute)"
debootstrap --variant=minbase --include="$PACKAGES" bookworm "$root" "$MIRROR" >/dev/null
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import \
  --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' - "$IMAGE" >/dev/null
echo "imported $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
