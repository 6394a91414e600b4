#!/usr/bin/env bash
# Installs what berth and its tests need on a fresh Debian machine (as root): the busybox used to
# make test images offline, runc/crun for differential tests and benchmarks, and the tools the
# tests call, and containerd's API definitions (.proto files) that the supervisor's gRPC API loads at
# start. Idempotent: installs only what is missing.
set -euo pipefail
need=()
for pkg in busybox-static runc crun procps iproute2 make gcc libc6-dev linux-libc-dev attr zstd docker-registry openssl apache2-utils skopeo umoci docker.io containerd nftables docker-compose golang-github-containerd-containerd-dev golang-github-gogo-protobuf-dev golang-github-gogo-googleapis-dev libprotobuf-dev e2fsprogs; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq
  # docker.io is only a reference for interoperability tests: keep apt from starting its daemon
  # (it would add a bridge and iptables rules to the host).
  policy=/usr/sbin/policy-rc.d
  had_policy=0; [ -e "$policy" ] && had_policy=1
  [ $had_policy = 1 ] || { printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  [ $had_policy = 1 ] || rm -f "$policy"
fi
