#!/usr/bin/env bash
# Installs what berth and its tests need on a fresh Debian machine (as root): the busybox used to
# make test images offline, runc/crun for differential tests and benchmarks, and the tools the
# tests call, and containerd's API definitions (.proto files) that the supervisor's gRPC API loads at
# start. Idempotent: installs only what is missing.
set -euo pipefail
need=()
for pkg in busybox-static runc crun procps iproute2 make gcc libc6-dev linux-libc-dev zstd docker-registry openssl apache2-utils skopeo umoci docker.io containerd nftables docker-compose golang-github-containerd-containerd-dev golang-github-gogo-protobuf-dev golang-github-gogo-googleapis-dev golang-google-grpc-dev libprotobuf-dev e2fsprogs containernetworking-plugins; do
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

# The CRI's API definitions (k8s.io/cri-api's api.proto) are packaged by Debian only from trixie
# on (golang-github-kubernetes-cri-api-dev, arch all, its dependencies are in bookworm): fetch that
# one package from Debian's trixie archive with a private apt list, and install it.
cri_proto=/usr/share/gocode/src/k8s.io/cri-api/pkg/apis/runtime/v1/api.proto
if [ ! -e "$cri_proto" ]; then
  echo "installing: golang-github-kubernetes-cri-api-dev (from Debian trixie)"
  tmp=$(mktemp -d)
  mkdir -p "$tmp/lists/partial" "$tmp/archives/partial"
  echo "deb http://deb.debian.org/debian trixie main" > "$tmp/sources.list"
  apt_opts=(-o "Dir::Etc::sourcelist=$tmp/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache::Archives=$tmp/archives" -o APT::Sandbox::User=root)
  apt-get "${apt_opts[@]}" update -qq
  (cd "$tmp" && apt-get "${apt_opts[@]}" download -qq golang-github-kubernetes-cri-api-dev)
  dpkg -i "$tmp"/golang-github-kubernetes-cri-api-dev_*.deb >/dev/null
  rm -rf "$tmp"
fi
