#!/usr/bin/env bash
# Installs what berth and its tests need on a fresh Debian machine (as root): the busybox used to
# make test images offline, runc/crun for differential tests and benchmarks, and the tools the
# tests call. Idempotent: installs only what is missing.
set -euo pipefail
need=()
for pkg in busybox-static runc crun procps iproute2 make gcc libc6-dev linux-libc-dev attr zstd docker-registry; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
