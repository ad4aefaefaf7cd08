// Command benchgen makes and times the workload of scripts/bench.sh.
//
//	benchgen gen [--files N] [--size SIZE] [--seed N] [--changed] DIR
//	benchgen floor [--impl both|klauspost|stdlib] [--runs N] LAYOUT...
//	benchgen measure [--out FILE] -- CMD [ARG...]
//
// gen writes two OCI image layouts, DIR/a and DIR/b. B is a rebuild of A:
// the same final files, but other mtimes, another gzip level, its base layer
// in another entry order, its upper files split into other layers, and
// other noise under /var/log and /tmp; so every layer differs (no diff_id
// is shared) and a tool must read all of both images to tell that nothing
// that matters changed. With --changed, one file of B also has one more
// permission bit. The output depends only on the flags: same bytes, same
// digests, every run.
//
// floor times the least work any such tool must do: gunzip and sha256 every
// layer blob of the layouts, as many layers at once as GOMAXPROCS.
//
// measure runs a command and reports its wall time and peak RSS, so that
// bench.sh needs neither GNU time nor anything else beyond Go.
//
// It reports on stdout (measure: stderr, or --out) in key=value lines, for
// people and for bench.sh alike. It uses the flag package, not cobra: it is
// an internal tool with three flat subcommands.
package main
