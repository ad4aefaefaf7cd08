#!/usr/bin/env bash
# bench.sh: how fast and how lean `imgver diff` is on a rebuilt 1 GiB image,
# against the floor: the time to gunzip and sha256 every layer blob of both
# images on all cores, which any tool that reads all of both must spend.
#
# The pair (.bench/a, .bench/b) is made by internal/tools/benchgen: 50,000
# files, about 1 GiB uncompressed, B a rebuild of A (other mtimes, gzip
# level, entry order and layer split; other noise under /var/log and /tmp),
# so no layer is shared and nothing can be short-cut. It is generated once
# and kept; it is made again when missing or when the generator changed.
#
# Needs only Go (no GNU time, no gzip). Environment:
#   IMGVER=path       the imgver to time (default: go build ./cmd/imgver)
#   BENCH_DIR=dir     where pairs and binaries go (default: .bench in the repo)
#   BENCH_RUNS=n      timed runs of each, interleaved (default 3); medians
#                     decide, minimums and CPU seconds are shown beside
#   BENCH_CHANGED=1   also time a pair that differs by one permission bit
#   BENCH_STRICT=1    exit 1 when a target or verdict fails (default: exit 0)
#   BENCH_FILES, BENCH_SIZE, BENCH_SEED   generator knobs (50000, 1GiB, 1)
# Targets: imgver wall time <= 1.5 x floor (klauspost), peak RSS <= 200 MiB.
# Exit codes: 0 done, 1 a target failed under BENCH_STRICT=1, 2 trouble
# (including imgver exiting 2).
set -euo pipefail

orig_pwd=$PWD
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

runs=${BENCH_RUNS:-3}
files=${BENCH_FILES:-50000}
size=${BENCH_SIZE:-1GiB}
seed=${BENCH_SEED:-1}
bench_dir=${BENCH_DIR:-$root/.bench}
case $bench_dir in /*) ;; *) bench_dir=$orig_pwd/$bench_dir ;; esac
max_ratio=1.5
max_rss_mib=200

die() { echo "bench.sh: $*" >&2; exit 2; }
note() { echo "bench.sh: $*" >&2; }

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

# The cache key: the knobs and the generator's source (and the gzip it
# writes with), so a changed generator makes the pair again. The source is
# summed once, next to the build of benchgen, so the key always describes
# the binary that runs.
gen_key() { echo "files=$files size=$size seed=$seed $* src=$gen_src"; }

# ensure_pair DIR [--changed]: generate DIR/a and DIR/b unless cached.
ensure_pair() {
  local dir=$1
  shift
  local key
  key=$(gen_key "$@")
  if [[ -f $dir/pair.key && $(cat "$dir/pair.key") == "$key" && -f $dir/a/index.json && -f $dir/b/index.json ]]; then
    note "using cached pair in $dir"
    return
  fi
  note "generating pair in $dir (files=$files size=$size seed=$seed $*) ..."
  rm -f "$dir/pair.key"
  mkdir -p "$dir"
  "$benchgen" gen --files "$files" --size "$size" --seed "$seed" "$@" "$dir" | tee "$dir/gen.txt" >&2 ||
    die "generating the pair"
  echo "$key" >"$dir/pair.key"
}

# kv KEY: the value of KEY=value on each input line that has it.
kv() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p"; }
# median: of the numbers on stdin, one a line.
median() {
  sort -n | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "nan"; exit }
    if (NR % 2) printf "%.3f\n", v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
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
  local load0 load1 i rc out
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
      "$imgver" diff "oci:$a" "oci:$b" >"$out.stdout" 2>"$out.stderr" || rc=$?
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
  ic=$(awk '{ u = s = 0; for (i = 1; i <= NF; i++) { split($i, f, "="); if (f[1] == "user_seconds") u = f[2]; if (f[1] == "sys_seconds") s = f[2] } print u + s }' "$bench_dir/imgver.txt" | median)
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

note "$(date -u) ncpu=$ncpu load=$(loadavg) runs=$runs; raw results in $log"
note "imgver=$imgver (cksum $(cksum <"$imgver" | cut -d' ' -f1))"
ensure_pair "$bench_dir"
bench same "$bench_dir" 0
if [[ ${BENCH_CHANGED:-0} == 1 ]]; then
  ensure_pair "$bench_dir/changed" --changed
  bench changed "$bench_dir/changed" 1
fi

if [[ ${BENCH_STRICT:-0} == 1 && $status != 0 ]]; then
  exit 1
fi
exit 0
