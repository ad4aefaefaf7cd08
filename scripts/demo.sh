#!/usr/bin/env bash
# Runs imgver's main job on the bundled demo monorepo: starts a local registry
# on localhost:5000, publishes the demo's base images and releases there,
# builds this commit's images of the demo (demo/build/, OCI layouts), and runs
# `imgver detect` (a dry run) to tell which pinned images really changed.
#
#   scripts/demo.sh                  # extra arguments go to imgver detect
#   scripts/demo.sh --write          # also unpin the changed images
#   scripts/demo.sh stop             # stop the demo registry
set -euo pipefail
cd "$(dirname "$0")/.."
export IMGVER_REGISTRY_DIR=${TMPDIR:-/tmp}/imgver-demo-registry
export IMGVER_REGISTRY_PORT=5000
if [ "${1:-}" = stop ]; then
  exec scripts/registry.sh stop
fi
echo "== registry: $(scripts/registry.sh start)"
echo "== publishing the demo's base images and releases, building this commit's images"
go run ./internal/tools/demo -registry localhost:5000 -out demo/build | sed 's/^/   /'
echo "== imgver detect $*"
exec go run ./cmd/imgver detect "$@"
