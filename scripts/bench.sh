#!/usr/bin/env bash
# bench.sh: how fast and how lean imgver is. Three modes:
#
#   scripts/bench.sh [pair]     imgver diff of a generated 1 GiB pair against
#                               the floor (the default mode)
#   scripts/bench.sh monorepo   imgver detect over 50 generated images whose
#                               releases are in a local registry
#   scripts/bench.sh pair600    imgver detect of a real ~600 MB JDK + Python
#                               image rebuilt, its release in a local registry
#
# pair: the pair (.bench/a, .bench/b) is made by internal/tools/benchgen:
# 50,000 files, about 1 GiB uncompressed, B a rebuild of A (other mtimes,
# gzip level, entry order and layer split; other noise under /var/log and
# /tmp), so no layer is shared and nothing can be short-cut. imgver diff is
# timed against the floor: the time to gunzip and sha256 every layer blob of
# both images on all cores, which any tool that reads all of both must spend.
# Targets: imgver wall time <= 1.5 x floor (klauspost), peak RSS <= 200 MiB.
#
# monorepo: `benchgen monorepo` makes 50 images of ~100 MiB uncompressed
# (one shared base of 70 MiB in four layers, like a distro plus a runtime,
# and 30 MiB of each image's own layers) as two OCI layouts: the baselines
# and the candidates, each candidate an unchanged rebuild of its baseline
# with build noise (no layer of its own shared, so detect must compare).
# The baselines are pushed to a registry of the bench's own
# (scripts/registry.sh, access log on) as <registry>/mono/svc-NN:v1.0.0; an
# images.hcl and a pin file pin all 50 to v1.0.0, and the candidates are
# read from their layout, as CI reads fresh builds.
#
# pair600: a real image built twice from the same sources
# (testdata/rebuilds/bench600: Debian bookworm minbase from debootstrap,
# default-jdk-headless, python3 with numpy, pandas, lxml, yaml, requests,
# jinja2, a javac-built jar, a compileall'd app; ~560 MB of gzip layers,
# ~1 GiB uncompressed, apt's downloaded .debs left in it as debootstrap's
# apt keeps them), by `scripts/real-rebuilds.sh bench600` (buildah, as
# root, minutes; done once, kept in $BENCH600_DIR). The first build is
# pushed as the release, the second is the candidate.
#
# Both registry modes time `imgver detect --exit-code` (want exit 0: all
# the same, every check passing) in three scenarios, interleaved:
#   cold     --no-summary --no-cache: every baseline layer read from the
#            registry (the only way an imgver from before summaries works)
#   summary  --no-cache, after `imgver summarize` of every baseline (timed
#            once, shown apart): baselines judged from their summaries
#   warm     --cache-dir DIR, filled by one untimed run first
# and report per scenario wall time, CPU seconds, peak RSS (benchgen
# measure: wait4's rusage, what /usr/bin/time -v reports) and the bytes of
# baseline layer blobs the registry sent (its access log). Targets: the
# issue's (monorepo: warm <= 3 s; pair600: summary <= 0.6 x cold, warm <=
# 0.25 x cold, no baseline layer fetched with summaries) and peak RSS <=
# 200 MiB. A scenario whose flags the binary lacks stops the mode with a
# message naming them; BENCH_SCENARIOS=cold times a binary from before them.
#
# Generated data is made once and kept; it is made again when missing or
# when the generator or its knobs changed.
#
# Needs Go; the registry modes also Debian's docker-registry (installed by
# scripts/registry.sh as root), pair600 root and buildah (installed by
# real-rebuilds.sh). Environment:
#   IMGVER=path       the imgver to time (default: go build ./cmd/imgver)
#   BENCH_DIR=dir     where data, binaries and results go (default: .bench
#                     in the repo)
#   BENCH_RUNS=n      timed runs of each, interleaved (default 3); medians
#                     decide, minimums and CPU seconds are shown beside
#   BENCH_STRICT=1    exit 1 when a target or verdict fails (default: exit 0)
#   BENCH_SEED        generator seed (1)
# pair:
#   BENCH_CHANGED=1   also time a pair that differs by one permission bit
#   BENCH_FILES, BENCH_SIZE   generator knobs (50000, 1GiB)
# monorepo and pair600:
#   BENCH_SCENARIOS   which scenarios, in order (default "cold summary warm")
#   BENCH_REGISTRY_PORT  port of the bench's registry (default: a free one;
#                     never the shared demo registry's 5000)
#   BENCH_KEEP_REGISTRY=1  leave the registry running (state in
#                     $BENCH_DIR/registry): the next run pushes nothing
#   BENCH_DETECT_ARGS extra arguments to every imgver detect
# monorepo:
#   BENCH_IMAGES, BENCH_BASE_FILES, BENCH_BASE_SIZE, BENCH_IMAGE_FILES,
#   BENCH_IMAGE_SIZE  generator knobs (50, 6000, 70MiB, 2500, 30MiB)
# pair600:
#   BENCH600_DIR      real-rebuilds.sh's work dir for the pair (default
#                     /var/tmp/imgver-bench600; never inside the repo)
# Exit codes: 0 done, 1 a target failed under BENCH_STRICT=1, 2 trouble
# (including imgver exiting 2).
set -euo pipefail

orig_pwd=$PWD
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

die() { echo "bench.sh: $*" >&2; exit 2; }
note() { echo "bench.sh: $*" >&2; }

mode=${1:-pair}
case $mode in
  pair | monorepo | pair600) ;;
  -h | --help | help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown mode \"$mode\": want pair, monorepo or pair600" ;;
esac
[[ $# -le 1 ]] || die "want at most one argument, the mode"

runs=${BENCH_RUNS:-3}
files=${BENCH_FILES:-50000}
size=${BENCH_SIZE:-1GiB}
seed=${BENCH_SEED:-1}
bench_dir=${BENCH_DIR:-$root/.bench}
case $bench_dir in /*) ;; *) bench_dir=$orig_pwd/$bench_dir ;; esac
max_ratio=1.5
max_rss_mib=200

case $runs in '' | *[!0-9]* | 0) die "BENCH_RUNS=$runs: want a positive integer" ;; esac
command -v go >/dev/null || die "go is not on PATH"
mkdir -p "$bench_dir"

# Build the tools.
benchgen=$bench_dir/benchgen
gen_src=$(
  for f in internal/tools/benchgen/*.go; do
    [[ $f == *_test.go ]] || cat "$f"
  done | cksum | cut -d' ' -f1
)-$(grep 'klauspost/compress ' go.sum | cksum | cut -d' ' -f1)
go build -o "$benchgen" ./internal/tools/benchgen || die "building benchgen"
if [[ -n ${IMGVER:-} ]]; then
  imgver=$IMGVER
  case $imgver in /*) ;; */*) imgver=$orig_pwd/$imgver ;; *) imgver=$(command -v "$imgver") || die "IMGVER=$IMGVER: not found" ;; esac
  [[ -x $imgver ]] || die "IMGVER=$IMGVER: not an executable file"
else
  imgver=$bench_dir/imgver
  go build -o "$imgver" ./cmd/imgver || die "building imgver"
fi

# ensure_gen DIR KIND ARG...: run `benchgen KIND ARG... DIR` unless DIR
# holds what it made before with the same arguments. The cache key is the
# command and the generator's source (and the gzip it writes with), so a
# changed generator makes the data again; the source is summed once, next
# to the build of benchgen, so the key always describes the binary that
# runs. benchgen renames its output into place at the end: the key, written
# after it, is only there when the data is whole.
ensure_gen() {
  local dir=$1 kind=$2
  shift 2
  local key="$kind $* src=$gen_src"
  if [[ -f $dir/gen.key && $(cat "$dir/gen.key") == "$key" ]]; then
    note "using cached $kind data in $dir"
    return
  fi
  note "generating $kind data in $dir ($*) ..."
  rm -f "$dir/gen.key"
  mkdir -p "$dir"
  "$benchgen" "$kind" "$@" "$dir" | tee "$dir/gen.txt" >&2 || die "generating $kind data in $dir"
  echo "$key" >"$dir/gen.key"
}

# kv KEY: the value of KEY=value on each input line that has it.
kv() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p"; }
# median: of the numbers on stdin, one a line.
median() {
  sort -n | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "nan"; exit }
    if (NR % 2) printf "%.3f\n", v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# cpus: user + sys seconds of each `benchgen measure` line on stdin.
cpus() { awk '{ u = s = 0; for (i = 1; i <= NF; i++) { split($i, f, "="); if (f[1] == "user_seconds") u = f[2]; if (f[1] == "sys_seconds") s = f[2] } print u + s }'; }
maxof() { sort -n | tail -n 1; }
minof() { sort -n | head -n 1; }
loadavg() { if [[ -r /proc/loadavg ]]; then cut -d' ' -f1-3 /proc/loadavg; else echo "?"; fi; }

ncpu=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")
stamp=$(date -u +%Y%m%dT%H%M%SZ)
log=$bench_dir/results-$stamp.txt
status=0

# bench NAME DIR WANT_EXIT: time the floor and imgver on DIR/a vs DIR/b,
# interleaved, and print the table.
bench() {
  local name=$1 dir=$2 want=$3
  local a=$dir/a b=$dir/b
  local load0 load1 i rc out nocache=()
  # imgver diff reads every layer, every run: nothing from a local cache of
  # layer summaries (an imgver from before the cache has no --no-cache).
  has_flag diff --no-cache && nocache=(--no-cache)
  load0=$(loadavg)
  note "[$name] warming the page cache (one untimed floor pass) ..."
  "$benchgen" floor --impl klauspost "$a" "$b" >/dev/null || die "floor on $dir"
  : >"$bench_dir/floor.txt"
  : >"$bench_dir/imgver.txt"
  for ((i = 1; i <= runs; i++)); do
    note "[$name] run $i/$runs: floor ..."
    "$benchgen" floor "$a" "$b" >>"$bench_dir/floor.txt" || die "floor on $dir"
    tail -n 2 "$bench_dir/floor.txt" | sed "s/^/$name run=$i /" >>"$log"
    note "[$name] run $i/$runs: imgver diff ..."
    out=$bench_dir/imgver-$name-$i
    rc=0
    "$benchgen" measure --out "$bench_dir/imgver.txt" -- \
      "$imgver" diff "${nocache[@]}" "oci:$a" "oci:$b" >"$out.stdout" 2>"$out.stderr" || rc=$?
    tail -n 1 "$bench_dir/imgver.txt" | sed "s/^/$name run=$i /" >>"$log"
    if [[ $rc -ge 2 ]]; then
      echo "bench.sh: [$name] imgver diff exited $rc (2 is an error); its stderr:" >&2
      sed 's/^/  /' "$out.stderr" >&2
      exit 2
    fi
    [[ $rc == "$want" ]] || note "[$name] imgver diff exited $rc, want $want (output in $out.stdout)"
  done
  load1=$(loadavg)

  local fk fkm fkc fs fsm fsc iw iwm ic rss exits unc comp
  fk=$(grep 'impl=klauspost' "$bench_dir/floor.txt" | kv seconds | median)
  fkm=$(grep 'impl=klauspost' "$bench_dir/floor.txt" | kv seconds | minof)
  fkc=$(grep 'impl=klauspost' "$bench_dir/floor.txt" | kv cpu_seconds | median)
  fs=$(grep 'impl=stdlib' "$bench_dir/floor.txt" | kv seconds | median)
  fsm=$(grep 'impl=stdlib' "$bench_dir/floor.txt" | kv seconds | minof)
  fsc=$(grep 'impl=stdlib' "$bench_dir/floor.txt" | kv cpu_seconds | median)
  unc=$(head -n 1 "$bench_dir/floor.txt" | kv uncompressed_bytes)
  comp=$(head -n 1 "$bench_dir/floor.txt" | kv compressed_bytes)
  iw=$(kv wall_seconds <"$bench_dir/imgver.txt" | median)
  iwm=$(kv wall_seconds <"$bench_dir/imgver.txt" | minof)
  ic=$(cpus <"$bench_dir/imgver.txt" | median)
  rss=$(kv maxrss_kib <"$bench_dir/imgver.txt" | maxof)
  exits=$(kv exit <"$bench_dir/imgver.txt" | sort -u | tr '\n' ' ')

  # The verdicts use the medians of wall time, as asked. On a shared
  # machine the fastest run (min) is the least disturbed one, and CPU
  # seconds hardly depend on the load at all: both are shown beside.
  awk -v name="$name" -v runs="$runs" -v ncpu="$ncpu" -v load0="$load0" -v load1="$load1" \
    -v unc="$unc" -v comp="$comp" -v fk="$fk" -v fkm="$fkm" -v fkc="$fkc" -v fs="$fs" -v fsm="$fsm" -v fsc="$fsc" \
    -v iw="$iw" -v iwm="$iwm" -v ic="$ic" -v rss="$rss" -v exits="$exits" -v want="$want" \
    -v max_ratio="$max_ratio" -v max_rss="$max_rss_mib" -v imgver="$imgver" '
    function verdict(ok) { return ok ? "PASS" : "FAIL" }
    BEGIN {
      rssm = rss / 1024; ratio = iw / fk; mratio = iwm / fkm; cratio = ic / fkc
      printf "\n== %s: %s diff, %.2f GiB uncompressed / %.2f GiB gzip in both images\n", name, imgver, unc / 2^30, comp / 2^30
      printf "   %d runs; %s CPUs; load average %s at start, %s at end\n", runs, ncpu, load0, load1
      split(load0, l0, " ")
      if (ncpu + 0 > 0 && l0[1] + 0 > ncpu * 0.75)
        printf "   note: the machine was busy (load %s on %s CPUs): wall times are noisy; see min wall and median cpu\n", l0[1], ncpu
      printf "%-24s %12s %10s %12s %13s\n", "", "median wall", "min wall", "median cpu", "peak RSS MiB"
      printf "%-24s %12.3f %10.3f %12.3f\n", "floor (klauspost gzip)", fk, fkm, fkc
      printf "%-24s %12.3f %10.3f %12.3f\n", "floor (stdlib gzip)", fs, fsm, fsc
      printf "%-24s %12.3f %10.3f %12.3f %13.1f\n", "imgver diff", iw, iwm, ic, rssm
      printf "%-24s %12.2f %10.2f %12.2f\n", "ratio imgver / floor", ratio, mratio, cratio
      ok1 = ratio <= max_ratio; ok2 = rssm <= max_rss; ok3 = (exits == want " ")
      printf "target median wall ratio <= %s: %s (%.2f)\n", max_ratio, verdict(ok1), ratio
      printf "target peak RSS <= %s MiB: %s (%.1f MiB)\n", max_rss, verdict(ok2), rssm
      printf "verdict: exit codes seen: %s(want %s): %s\n", exits, want, verdict(ok3)
      exit !(ok1 && ok2 && ok3)
    }' | tee -a "$log" || status=1
}

# ---------------------------------------------------------------- registry modes

# help CMD: imgver CMD --help (read whole: grep -q would end the pipe early).
help() { "$imgver" "$1" --help 2>/dev/null || true; }
# has_flag CMD FLAG: does `imgver CMD --help` list FLAG?
has_flag() { grep -qE -- "$2([^a-z-]|\$)" <<<"$(help "$1")"; }
# has_command CMD: does imgver have the command CMD? (An unknown command
# prints the root help, which has no "imgver CMD" usage line.)
has_command() { grep -q "^  imgver $1" <<<"$(help "$1")"; }

# scenario_flags SCENARIO CACHE_DIR: the detect flags of SCENARIO, or exit 2
# naming what the binary lacks. cold on a binary without summaries and
# without a cache (from before issue 12) is plain detect: it can be nothing
# but cold.
scenario_flags() {
  local sc=$1 cache=$2 missing=()
  local summaries=0 cache_flags=0
  has_command summarize && summaries=1
  has_flag detect --cache-dir && cache_flags=1
  case $sc in
    cold)
      if ((summaries)) || has_flag detect --no-summary; then
        has_flag detect --no-summary || missing+=("detect --no-summary")
      fi
      if ((cache_flags)) || has_flag detect --no-cache; then
        has_flag detect --no-cache || missing+=("detect --no-cache")
      fi
      ;;
    summary)
      ((summaries)) || missing+=("imgver summarize")
      has_flag detect --no-cache || missing+=("detect --no-cache")
      ;;
    warm) ((cache_flags)) || missing+=("detect --cache-dir") ;;
    *) die "BENCH_SCENARIOS: unknown scenario \"$sc\": want cold, summary or warm" ;;
  esac
  ((${#missing[@]} == 0)) ||
    die "scenario $sc needs $(printf '%s, ' "${missing[@]}" | sed 's/, $//'), which $imgver lacks (BENCH_SCENARIOS=cold times a binary from before summaries and the cache)"
  case $sc in
    cold)
      has_flag detect --no-summary && printf '%s\n' --no-summary
      has_flag detect --no-cache && printf '%s\n' --no-cache
      ;;
    summary) printf '%s\n' --no-cache ;;
    warm) printf '%s\n' --cache-dir "$cache" ;;
  esac
  return 0
}

# plan_scenarios WORK: the detect flags of each of BENCH_SCENARIOS into
# sflags, before any data is made: exit 2 when the binary lacks one.
declare -A sflags=()
plan_scenarios() {
  local sc flags
  for sc in ${BENCH_SCENARIOS:-cold summary warm}; do
    flags=$(scenario_flags "$sc" "$1/cache") || exit 2
    sflags[$sc]=$(paste -sd' ' - <<<"$flags")
  done
}

# start_registry: the bench's own registry, access log on; sets reg (its
# address) and reg_log. Stopped when the script ends unless
# BENCH_KEEP_REGISTRY=1.
start_registry() {
  export IMGVER_REGISTRY_DIR=$bench_dir/registry IMGVER_REGISTRY_ACCESSLOG=1
  if [[ -n ${BENCH_REGISTRY_PORT:-} ]]; then
    [[ $BENCH_REGISTRY_PORT != 5000 ]] || die "BENCH_REGISTRY_PORT=5000 is the shared demo registry's port"
    export IMGVER_REGISTRY_PORT=$BENCH_REGISTRY_PORT
  else
    unset IMGVER_REGISTRY_PORT
  fi
  reg=$(scripts/registry.sh start) || die "starting the registry"
  reg_log=$IMGVER_REGISTRY_DIR/log
  grep -q 'disabled: false' "$IMGVER_REGISTRY_DIR/config.yml" ||
    die "the registry in $IMGVER_REGISTRY_DIR runs without its access log: stop it (IMGVER_REGISTRY_DIR=$IMGVER_REGISTRY_DIR scripts/registry.sh stop)"
  if [[ ${BENCH_KEEP_REGISTRY:-0} != 1 ]]; then
    trap 'IMGVER_REGISTRY_DIR=$bench_dir/registry scripts/registry.sh stop' EXIT
  fi
  note "registry at $reg (state and access log in $IMGVER_REGISTRY_DIR)"
}

# write_config WORK PREFIX NAME=CANDIDATE...: WORK/images.hcl with one image
# per argument (repository PREFIX/NAME, candidate CANDIDATE) and a pin file
# pinning every one to v1.0.0.
write_config() {
  local work=$1 prefix=$2 arg
  shift 2
  mkdir -p "$work"
  {
    echo '# Written by scripts/bench.sh.'
    echo 'pin_file = "image_versions.src"'
    for arg in "$@"; do
      printf '\nimage "%s" {\n  repository = "%s/%s"\n  candidate  = "%s"\n}\n' "${arg%%=*}" "$prefix" "${arg%%=*}" "${arg#*=}"
    done
  } >"$work/images.hcl"
  {
    echo '#!/bin/bash'
    echo '# 2026-11-01T00:00:00Z -- v1.0.0'
    for arg in "$@"; do
      arg=${arg%%=*}
      echo "${arg//[^A-Za-z0-9_]/_}_VER=\"v1.0.0\""
    done
  } >"$work/image_versions.src"
}

# timed NAME WORK BASELINE_LAYOUT RESULTS IMGVER_ARGS...: one measured run
# of imgver in WORK; appends to RESULTS a line with the measurement, the
# baseline layer bytes the registry sent meanwhile and the load, and returns
# imgver's exit code. Output in $bench_dir/out/NAME.{stdout,stderr}.
timed() {
  local name=$1 work=$2 layout=$3 results=$4
  shift 4
  local off rc=0 m f l0
  mkdir -p "$bench_dir/out"
  off=$(stat -c %s "$reg_log")
  l0=$(loadavg | cut -d' ' -f1)
  # No cache of the caller's: the scenario's flags alone decide.
  (cd "$work" && env -u IMGVER_CACHE_DIR XDG_CACHE_HOME="$work/xdg-cache" "$benchgen" measure --out "$bench_dir/out/measure.txt" -- "$imgver" "$@") \
    >"$bench_dir/out/$name.stdout" 2>"$bench_dir/out/$name.stderr" || rc=$?
  m=$(tail -n 1 "$bench_dir/out/measure.txt")
  # The access log is written as the registry answers: let it catch up.
  sleep 0.2
  f=$("$benchgen" fetched --offset "$off" "$reg_log" "$layout") || die "reading the access log $reg_log"
  echo "$name load1=$l0 $m $f" >>"$results"
  echo "$name load1=$l0 $m $f" >>"$log"
  return $rc
}

# sources FILE: how often each baseline source (what a baseline was read
# from: summary, cache, layers, none) appears in a detect JSON output: the
# images' baseline_source, else the platforms' source_a (--verbose).
sources() {
  local key=baseline_source
  grep -q "\"$key\"" "$1" 2>/dev/null || key=source_a
  grep -o "\"$key\": *\"[a-z]*\"" "$1" 2>/dev/null | sed 's/.*"\([a-z]*\)"$/\1/' | sort | uniq -c |
    awk '{ printf "%s%s=%s", (NR > 1 ? "," : ""), $2, $1 } END { if (NR == 0) printf "-" }'
}

# bench_registry MODE LAYOUT WORK PREFIX: push LAYOUT's images as the
# releases (done by the caller), then time the scenarios.
bench_registry() {
  local mode=$1 layout=$2 work=$3 nimages=$4
  local scenarios=${BENCH_SCENARIOS:-cold summary warm}
  local cache=$work/cache results=$work/results-$stamp.txt
  local sc i rc want=0
  rm -rf "$cache" "$work/xdg-cache"
  : >"$results"
  local detect=(detect --commit 0123456789abcdef0123456789abcdef01234567 --exit-code --format json)
  # shellcheck disable=SC2206 # split on purpose: extra arguments
  local extra=(${BENCH_DETECT_ARGS:-})
  local refs=()
  mapfile -t refs < <(sed -n 's/^  repository = "\(.*\)"$/\1:v1.0.0/p' "$work/images.hcl")

  if [[ " $scenarios " == *" summary "* ]]; then
    note "[$mode] imgver summarize of the ${#refs[@]} baselines (once) ..."
    rc=0
    timed summarize "$work" "$layout" "$results" summarize "${refs[@]}" || rc=$?
    ((rc == 0)) || { sed 's/^/  /' "$bench_dir/out/summarize.stderr" >&2; die "[$mode] imgver summarize exited $rc"; }
  fi
  if [[ " $scenarios " == *" warm "* ]]; then
    note "[$mode] filling the cache (one untimed detect) ..."
    rc=0
    # shellcheck disable=SC2086 # flags split on purpose
    timed fill "$work" "$layout" "$results" "${detect[@]}" "${extra[@]}" ${sflags[warm]} || rc=$?
    ((rc == 0)) || { sed 's/^/  /' "$bench_dir/out/fill.stderr" >&2; die "[$mode] the detect that fills the cache exited $rc, want 0"; }
  fi
  local load0 load1
  load0=$(loadavg)
  for ((i = 1; i <= runs; i++)); do
    for sc in $scenarios; do
      note "[$mode] run $i/$runs: $sc: imgver detect ${sflags[$sc]:-(no flag: this imgver has neither summaries nor a cache)} ..."
      rc=0
      # shellcheck disable=SC2086 # flags split on purpose
      timed "$sc" "$work" "$layout" "$results" "${detect[@]}" "${extra[@]}" ${sflags[$sc]} || rc=$?
      cp "$bench_dir/out/$sc.stdout" "$bench_dir/out/$sc-$i.json"
      if ((rc >= 2)); then
        echo "bench.sh: [$mode] imgver detect ($sc) exited $rc (2 is an error); its stderr:" >&2
        sed 's/^/  /' "$bench_dir/out/$sc.stderr" >&2
        exit 2
      fi
      ((rc == want)) || note "[$mode] imgver detect ($sc) exited $rc, want $want (all the same, checks passing): see $bench_dir/out/$sc-$i.json"
    done
  done
  load1=$(loadavg)

  # The table: per scenario, medians over the runs.
  local rows="" w wm c r lb ob ld ex src cold_w=""
  for sc in summarize fill $scenarios; do
    grep -q "^$sc " "$results" || continue
    w=$(grep "^$sc " "$results" | kv wall_seconds | median)
    wm=$(grep "^$sc " "$results" | kv wall_seconds | minof)
    c=$(grep "^$sc " "$results" | cpus | median)
    r=$(grep "^$sc " "$results" | kv maxrss_kib | maxof)
    lb=$(grep "^$sc " "$results" | kv layer_bytes | maxof)
    ob=$(grep "^$sc " "$results" | kv other_blob_bytes | maxof)
    ld=$(grep "^$sc " "$results" | kv load1 | sort -n | sed -n '1p;$p' | paste -sd- -)
    ex=$(grep "^$sc " "$results" | kv exit | sort -u | paste -sd, -)
    src=-
    [[ -f $bench_dir/out/$sc-1.json ]] && src=$(sources "$bench_dir/out/$sc-1.json")
    [[ $sc == cold ]] && cold_w=$w
    rows+="$sc $w $wm $c $r $lb $ob $ld $ex $src"$'\n'
  done
  printf '%s' "$rows" | awk -v mode="$mode" -v runs="$runs" -v ncpu="$ncpu" -v load0="$load0" -v load1="$load1" \
    -v n="$nimages" -v imgver="$imgver" -v max_rss="$max_rss_mib" -v cold="$cold_w" '
    function verdict(ok) { return ok ? "PASS" : "FAIL" }
    BEGIN { fail = 0 }
    { sc[NR] = $1; w[$1] = $2; wm[$1] = $3; c[$1] = $4; r[$1] = $5 / 1024; lb[$1] = $6; ob[$1] = $7; ld[$1] = $8; ex[$1] = $9; src[$1] = $10; rows = NR }
    END {
      printf "\n== %s: %s detect of %d image%s, the release%s in a local registry\n", mode, imgver, n, n == 1 ? "" : "s", n == 1 ? "" : "s"
      printf "   %d runs; %s CPUs; load average %s at start, %s at end (a shared machine: see min wall and CPU)\n", runs, ncpu, load0, load1
      printf "%-10s %11s %9s %11s %9s %14s %12s %11s %5s  %s\n", "", "median wall", "min wall", "median cpu", "peak RSS", "baseline layer", "other blobs", "load (1 min)", "exit", "baselines from"
      printf "%-10s %11s %9s %11s %9s %14s %12s %11s %5s\n", "", "s", "s", "s", "MiB", "MiB fetched", "KiB fetched", "", ""
      for (i = 1; i <= rows; i++) {
        s = sc[i]
        printf "%-10s %11.3f %9.3f %11.3f %9.1f %14.1f %12.1f %11s %5s  %s\n", s, w[s], wm[s], c[s], r[s], lb[s] / 2^20, ob[s] / 1024, ld[s], ex[s], src[s]
        if (s != "summarize" && s != "fill") {
          ok = r[s] <= max_rss; fail += !ok
          printf "target %s: peak RSS <= %s MiB: %s (%.1f MiB)\n", s, max_rss, verdict(ok), r[s]
          ok = ex[s] == "0"; fail += !ok
          printf "verdict %s: exit codes %s (want 0: all the same, checks passing): %s\n", s, ex[s], verdict(ok)
        }
      }
      if ("summary" in w) {
        ok = lb["summary"] == 0; fail += !ok
        printf "target summary: no baseline layer fetched: %s (%.1f MiB)\n", verdict(ok), lb["summary"] / 2^20
      }
      if (mode == "monorepo" && ("warm" in w)) {
        ok = w["warm"] <= 3; fail += !ok
        printf "target warm: median wall <= 3 s: %s (%.3f s)\n", verdict(ok), w["warm"]
      }
      if (mode == "pair600" && cold != "") {
        if ("summary" in w) { ok = w["summary"] <= 0.6 * cold; fail += !ok
          printf "target summary: median wall <= 0.6 x cold: %s (%.2f x)\n", verdict(ok), w["summary"] / cold }
        if ("warm" in w) { ok = w["warm"] <= 0.25 * cold; fail += !ok
          printf "target warm: median wall <= 0.25 x cold: %s (%.2f x)\n", verdict(ok), w["warm"] / cold }
      }
      exit fail > 0
    }' | tee -a "$log"
  return "${PIPESTATUS[1]}"
}

mode_monorepo() {
  local images=${BENCH_IMAGES:-50}
  local data=$bench_dir/monorepo work=$bench_dir/monorepo-work
  plan_scenarios "$work"
  ensure_gen "$data" monorepo --images "$images" --seed "$seed" \
    --base-files "${BENCH_BASE_FILES:-6000}" --base-size "${BENCH_BASE_SIZE:-70MiB}" \
    --files "${BENCH_IMAGE_FILES:-2500}" --size "${BENCH_IMAGE_SIZE:-30MiB}"
  grep '^image=' "$data/gen.txt" | awk '{ for (i = 1; i <= NF; i++) { split($i, f, "="); v[f[1]] = f[2] }
    side = substr(v["image"], 1, index(v["image"], "/") - 1); n[side]++; u[side] += v["uncompressed_bytes"]; c[side] += v["compressed_bytes"] }
    END { for (s in n) printf "bench.sh: %s: %d images, %.1f MiB uncompressed and %.1f MiB gzip each on average (the shared base counted in each)\n", s, n[s], u[s] / n[s] / 2^20, c[s] / n[s] / 2^20 }' >&2
  start_registry
  note "pushing the $images baselines to $reg/mono ..."
  "$benchgen" push --tag v1.0.0 "$data/baseline" "$reg/mono" >"$bench_dir/out-push-monorepo.txt" || die "pushing the baselines"
  tail -n 1 "$bench_dir/out-push-monorepo.txt" | sed 's/^/bench.sh: /' >&2
  local args=() i
  for ((i = 0; i < images; i++)); do
    args+=("$(printf 'svc-%02d' "$i")=oci:$data/candidate:$(printf 'svc-%02d' "$i")")
  done
  write_config "$work" "$reg/mono" "${args[@]}"
  bench_registry monorepo "$data/baseline" "$work" "$images" || status=1
}

mode_pair600() {
  local dir=${BENCH600_DIR:-/var/tmp/imgver-bench600}
  case $dir in "$root" | "$root"/*) die "BENCH600_DIR=$dir: must be outside the repository" ;; esac
  local a=$dir/oci/bench600-a b=$dir/oci/bench600-b work=$bench_dir/pair600-work
  plan_scenarios "$work"
  if [[ ! -f $a/index.json || ! -f $b/index.json ]]; then
    [[ $(id -u) == 0 ]] || die "the pair600 images are not built in $dir, and building them needs root: run as root"
    note "building the pair600 images (buildah, minutes) into $dir ..."
    REBUILDS_WORK=$dir SKIP_DIFF=1 scripts/real-rebuilds.sh bench600 || die "building the pair600 images"
  else
    note "using the pair600 images in $dir"
  fi
  start_registry
  note "pushing bench600-a to $reg/pair600/bench600:v1.0.0 ..."
  "$benchgen" push --tag v1.0.0 --as bench600 "$a" "$reg/pair600" >"$bench_dir/out-push-pair600.txt" || die "pushing bench600-a"
  write_config "$work" "$reg/pair600" "bench600=oci:$b"
  bench_registry pair600 "$a" "$work" 1 || status=1
}

note "$(date -u) mode=$mode ncpu=$ncpu load=$(loadavg) runs=$runs; raw results in $log"
note "imgver=$imgver (cksum $(cksum <"$imgver" | cut -d' ' -f1))"
case $mode in
  pair)
    ensure_gen "$bench_dir" gen --files "$files" --size "$size" --seed "$seed"
    bench same "$bench_dir" 0
    if [[ ${BENCH_CHANGED:-0} == 1 ]]; then
      ensure_gen "$bench_dir/changed" gen --files "$files" --size "$size" --seed "$seed" --changed
      bench changed "$bench_dir/changed" 1
    fi
    ;;
  monorepo) mode_monorepo ;;
  pair600) mode_pair600 ;;
esac

if [[ ${BENCH_STRICT:-0} == 1 && $status != 0 ]]; then
  exit 1
fi
exit 0
