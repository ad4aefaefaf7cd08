#!/usr/bin/env bash
# Starts or stops a Docker engine of the tests' own (dockerd from Debian's
# docker.io package), so that the docker-daemon: transport is tested against
# the real thing. It listens only on a unix socket in its state directory,
# stores images with the vfs driver, and sets up no network (no bridge, no
# iptables): it loads and saves images, it runs no container.
#
#   scripts/dockerd.sh start   # prints DOCKER_HOST (unix://.../docker.sock)
#   scripts/dockerd.sh stop
#
# State lives in $IMGVER_DOCKERD_DIR, default ${TMPDIR:-/tmp}/imgver-dockerd.
set -euo pipefail

state=${IMGVER_DOCKERD_DIR:-${TMPDIR:-/tmp}/imgver-dockerd}
sock=$state/docker.sock
# shellcheck source=scripts/lib/daemon.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/daemon.sh"

start() {
  if running; then
    echo "unix://$sock"
    return 0
  fi
  need_package dockerd docker.io
  rm -rf "$state"
  mkdir -p "$state"
  setsid dockerd --host "unix://$sock" --data-root "$state/data" --exec-root "$state/exec" \
    --pidfile "$state/dockerd.pid" --storage-driver vfs --iptables=false --ip6tables=false \
    --bridge=none >"$state/log" 2>&1 </dev/null &
  echo $! >"$state/pid"
  for _ in $(seq 1 150); do
    if [ -S "$sock" ] && DOCKER_HOST="unix://$sock" docker version >/dev/null 2>&1; then
      echo "unix://$sock"
      return 0
    fi
    running || break
    sleep 0.2
  done
  echo "dockerd.sh: dockerd did not start; its log:" >&2
  tail -20 "$state/log" >&2 || true
  stop
  exit 2
}

stop() {
  stop_pid 100
  # vfs layers may hold read-only files; the data root goes with the state.
  rm -rf "$state" 2>/dev/null || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
