package detect

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/semaphore"

	"github.com/imgver/imgver/internal/detect/normalise"
)

// An Option configures a Comparer.
type Option func(*options) error

type options struct {
	userIgnores     []string
	defaultIgnores  bool
	history         bool
	platform        *v1.Platform
	disabledNorm    map[string]bool
	normalisers     []normalise.Normaliser
	ignoredLabels   map[string]bool
	jobs            int
	readLimit       *semaphore.Weighted
	baseDir         string
	remoteOpts      []remote.Option
	progress        func(Progress)
	maxTextDiffSize int64
	packages        bool
	finder          SummaryFinder
	cache           LayerCache
}

// DefaultIgnoredLabels are the image labels that never make a change unless
// WithoutDefaultIgnores is given: they record when and from which commit an
// image was built, not what it runs.
var DefaultIgnoredLabels = []string{
	"org.opencontainers.image.created",
	"org.opencontainers.image.revision",
	"org.label-schema.build-date",
	"org.label-schema.vcs-ref",
	"build-date",
	"vcs-ref",
	"io.buildah.version",
}

// MaxTextDiffSize is the largest file, in bytes, for which a modified text
// file gets a unified diff in the Result.
const MaxTextDiffSize = 64 << 10

func defaultOptions() *options {
	o := &options{
		defaultIgnores:  true,
		disabledNorm:    map[string]bool{},
		ignoredLabels:   map[string]bool{},
		jobs:            runtime.GOMAXPROCS(0),
		maxTextDiffSize: MaxTextDiffSize,
	}
	return o
}

// WithIgnore adds noise globs: paths in the image (with or without a leading
// slash) matched with doublestar syntax, so "/opt/app/cache/**" ignores what
// lies below /opt/app/cache but not the directory itself.
func WithIgnore(globs ...string) Option {
	return func(o *options) error {
		for _, g := range globs {
			if err := ValidateGlob(g); err != nil {
				return err
			}
			o.userIgnores = append(o.userIgnores, cleanGlob(g))
		}
		return nil
	}
}

// WithoutDefaultIgnores switches off the built-in noise rules and the
// default ignored labels; only globs given with WithIgnore are ignored.
func WithoutDefaultIgnores() Option {
	return func(o *options) error {
		o.defaultIgnores = false
		return nil
	}
}

// WithHistory makes differences in the history's created_by lines a change.
func WithHistory() Option {
	return func(o *options) error {
		o.history = true
		return nil
	}
}

// WithPackages makes Diff explain a change by the packages it installs,
// removes, upgrades or downgrades (Result.Packages): the package databases
// are captured while the layers stream by. It never changes the verdict.
func WithPackages() Option {
	return func(o *options) error {
		o.packages = true
		return nil
	}
}

// WithPlatform compares only the platform p ("os/arch[/variant]") of
// multi-platform images.
func WithPlatform(p string) Option {
	return func(o *options) error {
		if p == "" {
			o.platform = nil
			return nil
		}
		pl, err := ParsePlatform(p)
		if err != nil {
			return err
		}
		o.platform = pl
		return nil
	}
}

// ParsePlatform parses a platform flag, "os/arch[/variant]": both os and
// arch are required.
func ParsePlatform(p string) (*v1.Platform, error) {
	pl, err := v1.ParsePlatform(p)
	if err != nil {
		return nil, fmt.Errorf("parsing platform %q: %w", p, err)
	}
	if pl.OS == "" || pl.Architecture == "" {
		return nil, fmt.Errorf("parsing platform %q: want os/arch[/variant]", p)
	}
	return pl, nil
}

// WithoutNormalisers switches off the content normalisers with the given
// names (see normalise.Default); files they would have handled are then
// compared byte for byte.
func WithoutNormalisers(names ...string) Option {
	return func(o *options) error {
		for _, n := range names {
			o.disabledNorm[n] = true
		}
		return nil
	}
}

// WithNormalisers replaces the built-in content normalisers (tests use it).
func WithNormalisers(ns ...normalise.Normaliser) Option {
	return func(o *options) error {
		o.normalisers = append([]normalise.Normaliser(nil), ns...)
		if o.normalisers == nil {
			o.normalisers = []normalise.Normaliser{}
		}
		return nil
	}
}

// WithIgnoredLabels adds image labels that never make a change.
func WithIgnoredLabels(labels ...string) Option {
	return func(o *options) error {
		for _, l := range labels {
			o.ignoredLabels[l] = true
		}
		return nil
	}
}

// WithJobs sets how many layers are read at once (default GOMAXPROCS).
func WithJobs(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return errors.New("jobs must be at least 1")
		}
		o.jobs = n
		return nil
	}
}

// WithReadLimit bounds the layers read at once by sem: every Comparer given
// the same sem (one per run) shares one bound, so that comparing several
// images at once reads no more layers at once than sem allows. Without it, a
// Comparer and those made from it With other options share a bound of
// WithJobs.
func WithReadLimit(sem *semaphore.Weighted) Option {
	return func(o *options) error {
		if sem == nil {
			return errors.New("nil read limit")
		}
		o.readLimit = sem
		return nil
	}
}

// WithBaseDir sets the directory that relative oci: and docker-archive:
// paths are resolved against (default: the working directory).
func WithBaseDir(dir string) Option {
	return func(o *options) error {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return fmt.Errorf("resolving base dir %q: %w", dir, err)
		}
		o.baseDir = abs
		return nil
	}
}

// WithRemoteOptions passes options (transport, retry backoff, auth) to every
// registry read.
func WithRemoteOptions(ro ...remote.Option) Option {
	return func(o *options) error {
		o.remoteOpts = append(o.remoteOpts, ro...)
		return nil
	}
}

// WithProgress calls f after each layer read. f is called from several
// goroutines, never at once.
func WithProgress(f func(Progress)) Option {
	return func(o *options) error {
		o.progress = f
		return nil
	}
}

// Progress reports one layer read.
type Progress struct {
	// Ref is the image the layer belongs to (the first one asking for it).
	Ref string
	// DiffID is the layer read.
	DiffID string
	// Done and Total count layers of the current Diff or Fingerprint.
	Done, Total int
	// Bytes counts the layer blob bytes (as stored: compressed) read so far
	// by this Comparer and those made from it With other options.
	Bytes int64
}

func cleanGlob(g string) string {
	g = strings.TrimSpace(g)
	g = strings.TrimPrefix(g, "./")
	if !strings.HasPrefix(g, "/") {
		g = "/" + g
	}
	if len(g) > 1 {
		g = strings.TrimSuffix(g, "/")
	}
	return g
}
