# shellcheck shell=bash
# Sourced by scripts/dockerd.sh and scripts/registry.sh, which start a daemon
# of the tests' own: its program installed from Debian on demand, its pid in
# $state/pid. The sourcing script sets $state first.
: "${state:?set by the script that sources daemon.sh}"

# need_package COMMAND PACKAGE: unless COMMAND is on PATH, installs Debian's
# PACKAGE (as root, with apt-get); exits 2 when it cannot.
need_package() {
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "${0##*/}: $1 is not installed; install Debian's $2 package" >&2
    exit 2
  fi
  echo "${0##*/}: installing $2" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "$2" >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "$2" >/dev/null; }
}

# running: the daemon of $state/pid is alive.
running() { [ -f "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null; }

# stop_pid TENTHS: stops the daemon of $state/pid (SIGTERM; SIGKILL when it
# is still there after TENTHS tenths of a second) and removes the pid file.
stop_pid() {
  if [ -f "$state/pid" ]; then
    pid=$(cat "$state/pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 "$1"); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$state/pid"
  fi
}
