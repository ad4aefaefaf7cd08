#!/usr/bin/env bash
# Starts or stops a local registry (CNCF distribution, from Debian's
# docker-registry package) on 127.0.0.1, for the end-to-end tests and the
# README walkthrough.
#
#   scripts/registry.sh start   # prints the address (127.0.0.1:PORT), also in $STATE/addr
#   scripts/registry.sh stop
#   scripts/registry.sh addr    # prints the address of the running registry
#
# State (pid, address, config, storage) lives in $IMGVER_REGISTRY_DIR,
# default ${TMPDIR:-/tmp}/imgver-registry. $IMGVER_REGISTRY_PORT fixes the
# port (the demo uses 5000); by default a free one is picked.
# $IMGVER_REGISTRY_ACCESSLOG=1 writes an access log line per request (combined
# log format: method, path, status, bytes sent) to $STATE/log, for
# scripts/bench.sh to count the blobs a command fetched.
set -euo pipefail

state=${IMGVER_REGISTRY_DIR:-${TMPDIR:-/tmp}/imgver-registry}
# shellcheck source=scripts/lib/daemon.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/daemon.sh"

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  if running; then
    cat "$state/addr"
    return 0
  fi
  need_package docker-registry docker-registry
  rm -rf "$state"
  mkdir -p "$state/data"
  tries=20
  [ -n "${IMGVER_REGISTRY_PORT:-}" ] && tries=1
  for _ in $(seq 1 $tries); do
    port=${IMGVER_REGISTRY_PORT:-$((20000 + RANDOM % 40000))}
    if listening "$port"; then
      if [ -n "${IMGVER_REGISTRY_PORT:-}" ]; then
        echo "registry.sh: port $port is taken by another program" >&2
        exit 2
      fi
      continue
    fi
    cat >"$state/config.yml" <<YAML
version: 0.1
log:
  level: warn
  accesslog:
    disabled: $([ "${IMGVER_REGISTRY_ACCESSLOG:-0}" = 1 ] && echo false || echo true)
storage:
  filesystem:
    rootdirectory: $state/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YAML
    # Not a child of this shell's job control: it must outlive the script.
    setsid docker-registry serve "$state/config.yml" >"$state/log" 2>&1 < /dev/null &
    echo $! >"$state/pid"
    for _ in $(seq 1 100); do
      if listening "$port"; then
        echo "127.0.0.1:$port" >"$state/addr"
        cat "$state/addr"
        return 0
      fi
      running || break
      sleep 0.1
    done
    stop_pid 50
  done
  echo "registry.sh: could not start the registry; its log:" >&2
  cat "$state/log" >&2 || true
  exit 2
}

case "${1:-}" in
  start) start ;;
  stop) stop_pid 50; rm -rf "$state" ;;
  addr) running && cat "$state/addr" || { echo "registry.sh: not running" >&2; exit 1; } ;;
  *) echo "usage: $0 start|stop|addr" >&2; exit 2 ;;
esac
