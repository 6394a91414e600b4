#!/usr/bin/env bash
# berth's main job, end to end, on a fresh machine: install what is missing, build berth, make a
# busybox image offline, and run a container from it with berth-runtime.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root: containers need namespaces, mounts and cgroups" >&2; exit 1; }
bash scripts/install-deps.sh
[ -d node_modules ] && [ -x native/build/berth-init ] && [ -d dist ] || npm ci
bundle=$(mktemp -d /tmp/berth-demo-XXXXXX)
trap 'rm -rf "$bundle"' EXIT
node dist/scripts/make-bundle.js "$bundle" sh -c 'echo "hello from a berth container: $(hostname), pid $$, uid $(id -u)"; ls /'
./bin/berth-runtime.mjs --root /run/berth-demo run --bundle "$bundle" "demo-$$"
