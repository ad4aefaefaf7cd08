#!/usr/bin/env bash
# Runs every test of imgver: go vet, the gofmt check, the linters (actionlint
# over every GitHub Actions workflow too), then the unit and
# end-to-end tests with the race detector. The end-to-end tests need a real
# registry: this script starts one on 127.0.0.1 (scripts/registry.sh, which
# installs Debian's docker-registry when it is missing), hands its address to
# the tests as IMGVER_E2E_REGISTRY, and stops it afterwards, also when a test
# fails or the script is interrupted. Needs only Go (and apt, as root, on a
# machine without docker-registry). A Docker engine of its own (scripts/dockerd.sh,
# Debian's docker.io) serves the docker-daemon: tests the same way.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== go vet"
go vet ./...

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt: not formatted:" >&2
  echo "$unformatted" >&2
  exit 1
fi

echo "== lint (golangci-lint, staticcheck, deadcode at the versions tools/go.mod pins)"
# The tools are a module of their own (tools/go.mod), so that golangci-lint's
# dependencies stay out of imgver's go.mod; -modfile runs them on this tree.
# The first run builds them (minutes on a cold Go cache), later runs use the
# cache.
lint_tool() { go tool -modfile=tools/go.mod "$@"; }
# --allow-serial-runners: another checkout's lint on the same machine waits
# for this one instead of failing with "parallel golangci-lint is running".
lint_tool golangci-lint run --allow-serial-runners ./...
lint_tool staticcheck ./...
dead=$(lint_tool deadcode -test ./...)
if [ -n "$dead" ]; then
  echo "deadcode: unreachable functions:" >&2
  echo "$dead" >&2
  exit 1
fi

echo "== actionlint (every GitHub Actions workflow, and action.yml through them)"
# actionlint is pinned in a tools module of its own (tools/actionlint/go.mod:
# it needs another YAML library version than golangci-lint's dependencies);
# it runs shellcheck on the run: scripts when shellcheck is there (installed
# with apt, as root, when missing).
actionlint() { go tool -modfile=tools/actionlint/go.mod actionlint "$@"; }
if ! command -v shellcheck >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends shellcheck >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends shellcheck >/dev/null; } ||
    echo "actionlint: shellcheck could not be installed; run: scripts are not checked" >&2
fi
workflows=(.github/workflows/*.yml scripts/ci-example/github/*.yml)
actionlint "${workflows[@]}"
# A linter that cannot fail checks nothing: a workflow with an unknown
# context must fail it.
bad=$(mktemp -d "${TMPDIR:-/tmp}/imgver-actionlint.XXXXXX")
printf 'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo "${{ github.no_such_thing }}"\n' >"$bad/bad.yml"
if actionlint "$bad/bad.yml" >/dev/null 2>&1; then
  rm -rf "$bad"
  echo "actionlint passed a broken workflow" >&2
  exit 1
fi
rm -rf "$bad"
echo "${#workflows[@]} workflows clean"

echo "== the demo (the README's first command)"
# Before the Go tests, so that their summary stays the last thing printed.
# A demo registry that was already running (someone is trying the demo) is
# used and left running; one started here is stopped.
demo_state=${TMPDIR:-/tmp}/imgver-demo-registry
stop_demo() { :; }
IMGVER_REGISTRY_DIR=$demo_state scripts/registry.sh addr >/dev/null 2>&1 ||
  stop_demo() { IMGVER_REGISTRY_DIR=$demo_state scripts/registry.sh stop; }
demo=$(scripts/demo.sh 2>&1) || { echo "$demo"; echo "scripts/demo.sh failed" >&2; stop_demo; exit 1; }
stop_demo
echo "$demo" | sed -n '/^IMAGE/,/^$/p'
for want in 'api-gateway +pinned v3.3.0 +changed +config' 'svc-lighthouse-api +pinned v3.4.0 +same' \
            'svc-bie-kafka +manual v3.2.1 +not-compared' 'postgres +pinned v3.4.0 +changed +app'; do
  if ! grep -Eq "^$want" <<<"$demo"; then
    echo "$demo"
    echo "the demo's detect output has no line matching: $want" >&2
    exit 1
  fi
done

echo "== registry"
# A registry of our own, so that two checkouts testing at once never share
# (or stop) each other's.
IMGVER_REGISTRY_DIR=$(mktemp -d "${TMPDIR:-/tmp}/imgver-test-registry.XXXXXX")
export IMGVER_REGISTRY_DIR
IMGVER_DOCKERD_DIR=$(mktemp -d "${TMPDIR:-/tmp}/imgver-test-dockerd.XXXXXX")
export IMGVER_DOCKERD_DIR
cleanup() {
  scripts/registry.sh stop || true
  rm -rf "$IMGVER_REGISTRY_DIR"
  scripts/dockerd.sh stop || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
IMGVER_E2E_REGISTRY=$(scripts/registry.sh start)
export IMGVER_E2E_REGISTRY
echo "registry at $IMGVER_E2E_REGISTRY"

echo "== docker engine (for the docker-daemon: transport)"
IMGVER_E2E_DOCKER_HOST=$(scripts/dockerd.sh start)
export IMGVER_E2E_DOCKER_HOST
echo "dockerd at $IMGVER_E2E_DOCKER_HOST"

echo "== go test -race"
go test -race -count=1 ./...
