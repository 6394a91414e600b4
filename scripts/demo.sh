#!/usr/bin/env bash
# berth's main job, end to end, on a fresh machine: install what is missing, build berth, start
# berthd, make a busybox image offline, and run a container from it through the Engine API.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root: containers need namespaces, mounts and cgroups" >&2; exit 1; }
bash scripts/install-deps.sh
[ -d node_modules ] && [ -x native/build/berth-init ] && [ -d dist ] || npm ci
sock=/run/berth/berth.sock
# The CLI starts berthd on the default socket when none answers; the docker CLI, used as the
# fallback client, does not, so start it here in that case.
if [ -x bin/berth.mjs ] && [ -f dist/src/cli/main.js ]; then cli=(./bin/berth.mjs); else cli=(docker -H "unix://$sock"); fi
if ! "${cli[@]}" version >/dev/null 2>&1; then
  mkdir -p /var/log/berth
  nohup ./bin/berthd.mjs >>/var/log/berth/berthd.log 2>&1 &
  for _ in $(seq 50); do [ -S "$sock" ] && "${cli[@]}" version >/dev/null 2>&1 && break; sleep 0.2; done
fi
work=$(mktemp -d /tmp/berth-demo-XXXXXX)
trap 'rm -rf "$work"' EXIT
node dist/scripts/make-bundle.js "$work/bundle" true >/dev/null
tar -C "$work/bundle/rootfs" -cf "$work/rootfs.tar" .
"${cli[@]}" import --change 'CMD ["sh"]' "$work/rootfs.tar" busybox:demo >/dev/null
"${cli[@]}" run --rm busybox:demo sh -c 'echo "hello from a berth container: $(hostname), pid $$, uid $(id -u)"; ls /'
