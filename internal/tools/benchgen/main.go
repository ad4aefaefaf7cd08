package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// errUsage is returned for bad command lines; the message is already
// printed by the flag package.
var errUsage = errors.New("usage")

// exitError carries a measured command's exit code up to main.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

const usage = `usage:
  benchgen gen [--files N] [--size SIZE] [--seed N] [--changed] DIR
  benchgen floor [--impl both|klauspost|stdlib] [--runs N] LAYOUT...
  benchgen measure [--out FILE] -- CMD [ARG...]
  benchgen monorepo [--images N] [--base-files N] [--base-size SIZE] [--files N] [--size SIZE] [--seed N] DIR
  benchgen push [--tag TAG] [--as NAME] LAYOUT PREFIX
  benchgen fetched [--offset BYTES] ACCESS_LOG LAYOUT...
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "gen":
		err = runGen(ctx, args[1:], stdout, stderr)
	case "floor":
		err = runFloor(ctx, args[1:], stdout, stderr)
	case "measure":
		err = runMeasure(ctx, args[1:], stderr)
	case "monorepo":
		err = runMonorepo(ctx, args[1:], stdout, stderr)
	case "push":
		err = runPush(ctx, args[1:], stdout, stderr)
	case "fetched":
		err = runFetched(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "benchgen: unknown command %q\n%s", args[0], usage)
		return 2
	}
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "benchgen %s: %v\n", args[0], err)
		return 2
	}
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("benchgen "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses args; the flag package has printed what was wrong, or the
// help asked for.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	return nil
}

// sizeFlag defines a flag of a size in bytes, or with KiB, MiB or GiB;
// def is how the default is shown.
func sizeFlag(fs *flag.FlagSet, p *int64, name, usage, def string) {
	fs.Func(name, usage+" (bytes, or with KiB, MiB, GiB) (default "+def+")", func(s string) error {
		n, err := parseSize(s)
		*p = n
		return err
	})
}

// printStats writes one key=value line per image gen or monorepo wrote.
func printStats(w io.Writer, stats []genStats) {
	for _, s := range stats {
		fmt.Fprintf(w, "image=%s manifest=%s layers=%d files=%d entries=%d uncompressed_bytes=%d compressed_bytes=%d ratio=%.2f\n",
			s.name, s.manifest, s.layers, s.files, s.entries, s.uncompressedBytes, s.compressedBytes,
			float64(s.uncompressedBytes)/float64(s.compressedBytes))
	}
}

func runGen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("gen", stderr)
	p := genParams{files: 50000, size: 1 << 30, seed: 1}
	fs.IntVar(&p.files, "files", p.files, "regular files in the image, about")
	sizeFlag(fs, &p.size, "size", "total size of the file contents, about", "1GiB")
	fs.Uint64Var(&p.seed, "seed", p.seed, "seed of the generator")
	fs.BoolVar(&p.changed, "changed", false, "make B differ from A by one permission bit of one file")
	if err := parse(fs, args); err != nil {
		return err
	}
	return generate(fs, stdout, stderr, func(dir string) ([]genStats, error) { return gen(ctx, dir, p) })
}

// generate runs write on the one DIR argument of fs and prints what it
// wrote and how long it took.
func generate(fs *flag.FlagSet, stdout, stderr io.Writer, write func(dir string) ([]genStats, error)) error {
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "%s: want one DIR, got %d arguments\n", fs.Name(), fs.NArg())
		return errUsage
	}
	start := time.Now()
	stats, err := write(fs.Arg(0))
	if err != nil {
		return err
	}
	printStats(stdout, stats)
	fmt.Fprintf(stdout, "%s seconds=%.3f\n", strings.TrimPrefix(fs.Name(), "benchgen "), time.Since(start).Seconds())
	return nil
}

func runMonorepo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("monorepo", stderr)
	p := monoParams{
		images: 50,
		// A distro and a language runtime, like python:3.11-slim.
		base: genParams{files: 6000, size: 70 << 20, seed: 1},
		app:  genParams{files: 2500, size: 30 << 20},
	}
	fs.IntVar(&p.images, "images", p.images, "images in the monorepo")
	fs.IntVar(&p.base.files, "base-files", p.base.files, "regular files in the shared base, about")
	sizeFlag(fs, &p.base.size, "base-size", "size of the shared base's files, about", "70MiB")
	fs.IntVar(&p.app.files, "files", p.app.files, "regular files in each image's own layers, about")
	sizeFlag(fs, &p.app.size, "size", "size of each image's own files, about", "30MiB")
	fs.Uint64Var(&p.base.seed, "seed", p.base.seed, "seed of the generator")
	if err := parse(fs, args); err != nil {
		return err
	}
	// Image i's own layers use seed base+1+i: no two images alike.
	p.app.seed = p.base.seed + 1
	return generate(fs, stdout, stderr, func(dir string) ([]genStats, error) { return genMonorepo(ctx, dir, p) })
}

func runPush(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("push", stderr)
	tag := fs.String("tag", "latest", "tag of every pushed image")
	as := fs.String("as", "", "repository name of a layout's one image (default: its ref name)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fmt.Fprintf(stderr, "benchgen push: want LAYOUT and PREFIX, got %d arguments\n", fs.NArg())
		return errUsage
	}
	start := time.Now()
	ps, err := push(ctx, fs.Arg(0), fs.Arg(1), *tag, *as)
	if err != nil {
		return err
	}
	for _, p := range ps {
		fmt.Fprintf(stdout, "pushed ref=%s digest=%s\n", p.ref, p.digest)
	}
	fmt.Fprintf(stdout, "push images=%d seconds=%.3f\n", len(ps), time.Since(start).Seconds())
	return nil
}

func runFetched(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("fetched", stderr)
	offset := fs.Int64("offset", 0, "read the access log from this byte on")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		fmt.Fprintln(stderr, "benchgen fetched: want ACCESS_LOG and at least one LAYOUT")
		return errUsage
	}
	layers, err := layoutLayers(fs.Args()[1:])
	if err != nil {
		return err
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Seek(*offset, io.SeekStart); err != nil {
		return err
	}
	c, err := countFetched(f, layers)
	if err != nil {
		return fmt.Errorf("reading %q: %w", fs.Arg(0), err)
	}
	fmt.Fprintf(stdout, "fetched layer_bytes=%d layer_gets=%d other_blob_bytes=%d other_blob_gets=%d manifest_gets=%d requests=%d\n",
		c.layerBytes, c.layerGets, c.otherBlobBytes, c.otherBlobGets, c.manifestGets, c.requests)
	return nil
}

func runFloor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("floor", stderr)
	impl := fs.String("impl", "both", "gzip decompressor: klauspost, stdlib or both")
	runs := fs.Int("runs", 1, "passes per decompressor")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "benchgen floor: want at least one LAYOUT")
		return errUsage
	}
	impls := []string{*impl}
	if *impl == "both" {
		impls = []string{"klauspost", "stdlib"}
	}
	for _, im := range impls {
		if _, ok := gunzips[im]; !ok {
			fmt.Fprintf(stderr, "benchgen floor: --impl %q: want klauspost, stdlib or both\n", im)
			return errUsage
		}
	}
	jobs, err := floorJobs(fs.Args())
	if err != nil {
		return err
	}
	for range *runs {
		for _, im := range impls {
			r, err := floor(ctx, jobs, im)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "floor impl=%s seconds=%.3f cpu_seconds=%.3f layers=%d compressed_bytes=%d uncompressed_bytes=%d gomaxprocs=%d\n",
				r.impl, r.elapsed.Seconds(), r.cpu.Seconds(), r.layers, r.compressedBytes, r.uncompressedBytes, r.procs)
		}
	}
	return nil
}

func runMeasure(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("measure", stderr)
	out := fs.String("out", "", "append the report to this file instead of stderr")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "benchgen measure: want a command after --")
		return errUsage
	}
	m, err := measure(ctx, fs.Arg(0), fs.Args()[1:]...)
	if err != nil {
		return err
	}
	line := fmt.Sprintf("measure wall_seconds=%.3f user_seconds=%.3f sys_seconds=%.3f maxrss_kib=%d exit=%d\n",
		m.wall.Seconds(), m.user.Seconds(), m.sys.Seconds(), m.maxRSSKiB, m.exitCode)
	if *out == "" {
		fmt.Fprint(stderr, line)
	} else {
		f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(f, line); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if m.exitCode != 0 {
		return exitError{m.exitCode}
	}
	return nil
}

// parseSize parses "1073741824", "64KiB", "512MiB", "1GiB" (also K, M, G
// as the same binary units).
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}}
	mult := int64(1)
	num := s
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<50)/mult {
		return 0, fmt.Errorf("size %q: want a positive number of bytes, or one with KiB, MiB or GiB", s)
	}
	return n * mult, nil
}
