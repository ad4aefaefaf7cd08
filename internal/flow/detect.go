package flow

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/imgver/imgver/internal/base"
	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/detect"
	"github.com/imgver/imgver/internal/packages"
	"github.com/imgver/imgver/internal/pinfile"
	"github.com/imgver/imgver/internal/preflight"
	"github.com/imgver/imgver/internal/release"
)

// DetectSchemaVersion is the version of the JSON form of DetectReport.
const DetectSchemaVersion = 1

// NotCompared is the verdict on an image that is unpinned or manually
// pinned: there is nothing to compare. The other verdicts are detect.Same
// and detect.Changed.
const NotCompared detect.Verdict = "not-compared"

// Cause says why an image changed, where that can be told.
type Cause string

// Causes of a change.
const (
	CauseBase   Cause = "base"   // only paths written by the base image's layers differ
	CauseApp    Cause = "app"    // paths written by the image's own layers differ
	CauseConfig Cause = "config" // only the runtime config differs
)

// DetectImage is the outcome for one image.
type DetectImage struct {
	Name       string `json:"name"`
	Repository string `json:"repository"`
	// StateBefore and VersionBefore are the pin before this run.
	StateBefore   release.State `json:"state_before"`
	VersionBefore string        `json:"version_before,omitempty"`
	// Candidate is the fresh build; Baseline the published pinned image.
	Candidate string `json:"candidate,omitempty"`
	Baseline  string `json:"baseline,omitempty"`
	// BaselineSource says what was read of the baseline, for a compared
	// image: "summary" (its summaries in the registry, no layer of it),
	// "cache" (the local cache), "layers" (a layer blob of it was read),
	// "none" (nothing: the comparison needed none, or its layers were read
	// for another image of the run). Of a multi-platform image, the first
	// of layers, summary, cache, none that one of its platforms got.
	BaselineSource string `json:"baseline_source,omitempty"`
	// Verdict is detect.Same, detect.Changed or NotCompared.
	Verdict detect.Verdict `json:"verdict"`
	// Cause is set for a change whose cause can be told.
	Cause Cause `json:"cause,omitempty"`
	// Summary is one line saying what changed, leading with the package
	// changes; Reasons says it in full.
	Summary string `json:"summary,omitempty"`
	// Packages lists the packages a change upgrades, downgrades, adds or
	// removes (detect.Result.Packages); it never decides the verdict.
	Packages []packages.Change `json:"packages,omitempty"`
	Reasons  []string          `json:"reasons,omitempty"`
	// StateAfter is the state after this run (with Write, what was written).
	StateAfter release.State `json:"state_after"`
	// Version is what the image deploys with after this run: its pin, or the
	// short SHA when it is unpinned (and then published).
	Version string `json:"version"`
	Publish bool   `json:"publish"`
	// BaseStale is true when a base image of the Dockerfile is pinned to a
	// digest its tag no longer points to (a silent upstream rebuild: rebuild
	// the image); null when unknown or not looked up.
	BaseStale *bool `json:"base_stale"`
	// Checked is set when the candidate went through the image checks
	// (internal/preflight; not with NoCheck, nor for a candidate that was
	// not built).
	Checked bool `json:"checked"`
	// Problems are what the image checks found in the candidate. Their
	// Platform is set only for a candidate of several platforms.
	Problems []preflight.Problem `json:"problems,omitempty"`
	// Warnings say what could not be looked at (a *NotBuiltError, a
	// *BaseUnknownError).
	Warnings []Warning `json:"warnings,omitempty"`
	// Result is the full comparison.
	Result *detect.Result `json:"result,omitempty"`
}

// PublishItem is one image CI must push: repository:tag.
type PublishItem struct {
	Name       string `json:"name"`
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
}

// DetectReport is the outcome of Detect.
type DetectReport struct {
	SchemaVersion int           `json:"schema_version"`
	Commit        string        `json:"commit"`
	ShortSHA      string        `json:"short_sha"`
	Written       bool          `json:"written"`
	Images        []DetectImage `json:"images"`
	// Changed names the images found changed (and unpinned, with Write).
	Changed []string `json:"changed"`
	// Publish lists every image unpinned after this run, to push under the
	// short SHA.
	Publish []PublishItem `json:"publish"`
	// Broken names the images whose candidate failed its checks: do not
	// publish them.
	Broken []string `json:"broken"`
	// BaseStale names the images with a stale base.
	BaseStale []string `json:"base_stale"`
	// Warnings are about the pin file (a *release.UnknownVarError: a
	// variable no image owns, kept as it is).
	Warnings []Warning `json:"warnings,omitempty"`
	// Shard is set on the report of one shard (DetectOptions.Shard), whose
	// Images, Changed, Publish, Broken and BaseStale are of its images only.
	Shard *ShardInfo `json:"shard,omitempty"`
}

// Comparer represents the subset of a detect.Comparer that Detect uses: it
// compares two images and reads one. Tests replace it
// (DetectOptions.Comparer) to see or slow down what Detect reads.
type Comparer interface {
	Diff(ctx context.Context, a, b string) (*detect.Result, error)
	Snapshot(ctx context.Context, ref string) ([]*detect.Snapshot, error)
}

var _ Comparer = (*detect.Comparer)(nil)

// Progress is told how a run goes, to draw a progress bar. Its methods are
// called from several goroutines, never at once.
type Progress interface {
	// Start is called once, before any image is looked at, with the number
	// of images the run looks at (and then tells ImageDone of).
	Start(images int)
	// ImageDone is called after each image is looked at.
	ImageDone(name string)
	// LayersRead is called after each layer read, with the bytes of layer
	// blobs read so far in the run.
	LayersRead(bytes int64)
}

// DetectOptions are the knobs of Detect.
type DetectOptions struct {
	// Commit is the commit SHA the candidates were built from.
	Commit string
	// Candidates overrides the candidate attribute per image name.
	Candidates map[string]string
	// Write unpins the changed images in the pin file.
	Write bool
	// Shard, when set, compares only the images of one shard (see Shard);
	// the report then says what Apply needs to merge it with the others.
	// It cannot go with Write: Apply writes the pin file once for all.
	Shard Shard
	// Jobs bounds the images looked at at once and, across all of them,
	// the layers read at once (default: CPUs).
	Jobs int
	// Platform compares (and checks) only this platform of multi-platform
	// images, and is the platform the bases are looked up for.
	Platform string
	// History lets history created_by differences count as changes.
	History bool
	// NoCheck skips the image checks; NoBase the staleness of the bases.
	NoCheck, NoBase bool
	// NoSummary reads the layers of every baseline: the summaries attached
	// to them in the registry are not looked for.
	NoSummary bool
	// Remote are the options registries are read with.
	Remote []remote.Option
	// LayerCache, if set, keeps the summary of every layer read, across
	// runs (the local cache).
	LayerCache detect.LayerCache
	// Progress, if set, is told how the run goes.
	Progress Progress
	// Comparer, if set, reads every image instead of the detect.Comparers
	// Detect makes (one per set of ignore globs, sharing one cache of layers
	// and one bound on the layers read at once).
	Comparer Comparer
}

// BaselineMissingError is a pinned image whose release is not in the
// registry: the comparison cannot be made yet.
type BaselineMissingError struct {
	Image, Ref string
	Err        error
}

func (e *BaselineMissingError) Error() string {
	return fmt.Sprintf("image %s: baseline %s is not in the registry (retry after the release images are published): %v", e.Image, e.Ref, e.Err)
}

func (e *BaselineMissingError) Unwrap() error { return e.Err }

// candidateRef expands the candidate of im: {name}, {var} and {sha} (the
// short SHA) are replaced.
func candidateRef(im *config.Image, ref, short string) (string, error) {
	out, err := config.ExpandCandidate(ref, im.Name, im.Var, short)
	if err != nil {
		return "", fmt.Errorf("image %s: %w", im.Name, err)
	}
	return out, nil
}

// start is how Detect and Publish begin: the short SHA of commit, every
// image named in cands known, the pin file read and checked.
func start(cfg *config.Config, commit string, cands map[string]string) (string, *pinfile.File, error) {
	short, err := release.ShortSHA(cfg, commit)
	if err != nil {
		return "", nil, err
	}
	for n := range cands {
		if _, ok := cfg.Image(n); !ok {
			return "", nil, &config.UnknownImageError{Name: n, Known: cfg.Names()}
		}
	}
	f, err := release.Load(cfg)
	if err != nil {
		return "", nil, err
	}
	return short, f, nil
}

// Detect compares the candidate of every automatically pinned image with its
// pinned release in the registry, checks every candidate it reads, looks up
// whether the bases of each image are stale and, with Write, unpins the
// changed images in one locked write, only if the pin file is still what the
// run read (else a *release.PinFileChangedError and nothing is written).
// Manual pins are never compared nor unpinned; unpinned images need no
// comparison. When any image cannot be compared, nothing is written and the
// errors are returned joined (a *BaselineMissingError for a release not yet
// published).
func Detect(ctx context.Context, cfg *config.Config, o DetectOptions) (*DetectReport, error) {
	if o.Write && o.Shard.N > 0 {
		return nil, errors.New("a shard does not write the pin file: imgver apply writes it once from the results of all shards")
	}
	short, f, err := start(cfg, o.Commit, o.Candidates)
	if err != nil {
		return nil, err
	}
	r, err := newRun(cfg, o)
	if err != nil {
		return nil, err
	}
	rep := newDetectReport(o.Commit, short, f)
	statuses := release.Statuses(cfg, f)
	idx := o.Shard.indices(cfg)
	rep.Images = make([]DetectImage, len(idx))
	errs := make([]error, len(idx))
	var g errgroup.Group
	g.SetLimit(r.jobs)
	var mu sync.Mutex
	if o.Progress != nil {
		o.Progress.Start(len(idx))
	}
	for j, i := range idx {
		im, st, di := &cfg.Images[i], statuses[i], &rep.Images[j]
		*di = DetectImage{Name: im.Name, Repository: im.Repository, StateBefore: st.State, VersionBefore: st.Version, Verdict: NotCompared}
		cand := im.Candidate
		if c, ok := o.Candidates[im.Name]; ok {
			cand = c
		}
		switch {
		case st.State == release.Pinned && cand == "":
			errs[j] = fmt.Errorf("image %s has no candidate: set candidate in %s or pass --candidate %s=REF", im.Name, cfg.Path, im.Name)
			continue
		case st.State == release.Manual || cand == "":
			// Neither compared nor checked; its base may still be stale.
			cand = ""
		}
		if cand != "" {
			if di.Candidate, errs[j] = candidateRef(im, cand, short); errs[j] != nil {
				continue
			}
		}
		if st.State == release.Pinned {
			di.Baseline = im.Repository + ":" + st.Version
		}
		g.Go(func() error {
			errs[j] = r.inspect(ctx, im, di)
			if o.Progress != nil {
				mu.Lock()
				o.Progress.ImageDone(im.Name)
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// A lookup cancelled by a signal may have ended as a warning: the
	// report would be partial, and nothing may be written.
	if ctx.Err() != nil {
		return nil, fmt.Errorf("detecting: %w", context.Cause(ctx))
	}
	if o.Shard.N > 0 {
		rep.Shard = shardInfo(cfg, f, rep, o)
	}
	if err := sumUp(ctx, cfg, f, rep, o.Write); err != nil {
		return nil, err
	}
	return rep, nil
}

// newDetectReport is the report of a run on commit, before any image is
// looked at; f is the pin file it read.
func newDetectReport(commit, short string, f *pinfile.File) *DetectReport {
	rep := &DetectReport{SchemaVersion: DetectSchemaVersion, Commit: commit, ShortSHA: short,
		Changed: []string{}, Publish: []PublishItem{}, Broken: []string{}, BaseStale: []string{}}
	for _, u := range release.UnknownVars(f) {
		rep.Warnings = append(rep.Warnings, Warning{u})
	}
	return rep
}

// sumUp fills in what follows from the outcome of every image of rep: the
// images changed, broken and with a stale base; with write, unpins the
// changed ones in f, the pin file the run read (see
// release.UnpinIfUnchanged); then what each image deploys with and what to
// publish.
func sumUp(ctx context.Context, cfg *config.Config, f *pinfile.File, rep *DetectReport, write bool) error {
	changed := map[string]bool{}
	for _, di := range rep.Images {
		if di.Verdict == detect.Changed {
			changed[di.Name] = true
			rep.Changed = append(rep.Changed, di.Name)
		}
		if len(di.Problems) > 0 {
			rep.Broken = append(rep.Broken, di.Name)
		}
		if di.BaseStale != nil && *di.BaseStale {
			rep.BaseStale = append(rep.BaseStale, di.Name)
		}
	}
	if write {
		// Even with nothing to unpin: the report must describe the pin file
		// as it is after the run.
		if _, err := release.UnpinIfUnchanged(ctx, cfg, f, rep.Changed); err != nil {
			return err
		}
		rep.Written = len(rep.Changed) > 0
	}
	for i := range rep.Images {
		di := &rep.Images[i]
		di.StateAfter, di.Version = di.StateBefore, di.VersionBefore
		if changed[di.Name] || di.StateBefore == release.Unpinned {
			di.StateAfter, di.Version, di.Publish = release.Unpinned, rep.ShortSHA, true
			rep.Publish = append(rep.Publish, PublishItem{Name: di.Name, Repository: di.Repository, Tag: rep.ShortSHA})
		}
	}
	return nil
}

// run is what one Detect shares between its images: the comparers, the
// bound on layer reads, the base images resolved.
type run struct {
	o     DetectOptions
	jobs  int
	bases *base.Resolver

	mu        sync.Mutex
	shared    *detect.Comparer
	byIgnores map[string]Comparer
}

func newRun(cfg *config.Config, o DetectOptions) (*run, error) {
	r := &run{o: o, jobs: o.Jobs, byIgnores: map[string]Comparer{}}
	if r.jobs <= 0 {
		r.jobs = runtime.GOMAXPROCS(0)
	}
	var err error
	if r.bases, err = newResolver(o.Remote, o.Platform); err != nil {
		return nil, err
	}
	if o.Comparer != nil {
		return r, nil
	}
	dopts := []detect.Option{
		detect.WithBaseDir(cfg.Dir),
		detect.WithRemoteOptions(o.Remote...),
		detect.WithIgnore(cfg.Ignore...),
		detect.WithIgnoredLabels(cfg.IgnoreLabels...),
		detect.WithJobs(r.jobs),
		// One bound for every image: Jobs images at once read at most
		// Jobs layers at once, not Jobs each.
		detect.WithReadLimit(semaphore.NewWeighted(int64(r.jobs))),
		detect.WithPlatform(o.Platform),
		detect.WithPackages(),
	}
	if o.History {
		dopts = append(dopts, detect.WithHistory())
	}
	if !o.NoSummary {
		dopts = append(dopts, detect.WithSummaries(Summaries(o.Remote)))
	}
	if o.LayerCache != nil {
		dopts = append(dopts, detect.WithLayerCache(o.LayerCache))
	}
	if o.Progress != nil {
		dopts = append(dopts, detect.WithProgress(func(p detect.Progress) { o.Progress.LayersRead(p.Bytes) }))
	}
	if r.shared, err = detect.New(dopts...); err != nil {
		return nil, err
	}
	r.byIgnores[""] = r.shared
	return r, nil
}

// comparer returns the Comparer of im: one per set of ignore globs, all
// sharing one cache of layer summaries, so a layer shared by several images
// (a common base) is read once in the whole run.
func (r *run) comparer(im *config.Image) (Comparer, error) {
	if r.o.Comparer != nil {
		return r.o.Comparer, nil
	}
	key := strings.Join(im.Ignore, "\x00")
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.byIgnores[key]; ok {
		return c, nil
	}
	c, err := r.shared.With(detect.WithIgnore(im.Ignore...))
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", im.Name, err)
	}
	r.byIgnores[key] = c
	return c, nil
}

// reader reads the images of one image's inspection, each once.
type reader struct {
	c     Comparer
	snaps map[string][]*detect.Snapshot
}

// snapshot returns the snapshots of ref, read on the first call only.
func (rd *reader) snapshot(ctx context.Context, ref string) ([]*detect.Snapshot, error) {
	if s, ok := rd.snaps[ref]; ok {
		return s, nil
	}
	s, err := rd.c.Snapshot(ctx, ref)
	if err != nil {
		return nil, err
	}
	rd.snaps[ref] = s
	return s, nil
}

// inspect compares the candidate of di with its baseline (when it has one),
// checks the candidate (when it has one) and looks at its base.
func (r *run) inspect(ctx context.Context, im *config.Image, di *DetectImage) error {
	c, err := r.comparer(im)
	if err != nil {
		return err
	}
	rd := &reader{c: c, snaps: map[string][]*detect.Snapshot{}}
	if di.Baseline != "" {
		if err := r.compare(ctx, rd, im, di); err != nil {
			return err
		}
	}
	if di.Candidate != "" && !r.o.NoCheck {
		ps, err := r.check(ctx, rd, di.Candidate)
		switch {
		case err != nil && di.Baseline == "" && detect.IsNotFound(err):
			// An unpinned image CI did not build here: nothing to check.
			di.Warnings = append(di.Warnings, Warning{&NotBuiltError{Candidate: di.Candidate, Err: err}})
		case err != nil:
			return fmt.Errorf("image %s: checking %s: %w", im.Name, di.Candidate, err)
		default:
			di.Checked, di.Problems = true, ps
		}
	}
	if !r.o.NoBase && im.Dockerfile != "" {
		stale, err := r.bases.Stale(ctx, im)
		if err != nil {
			di.Warnings = append(di.Warnings, Warning{&BaseUnknownError{Err: err}})
		} else {
			di.BaseStale = &stale
		}
	}
	return nil
}

// check runs the image checks on every platform of the candidate.
func (r *run) check(ctx context.Context, rd *reader, cand string) ([]preflight.Problem, error) {
	snaps, err := rd.snapshot(ctx, cand)
	if err != nil {
		return nil, err
	}
	var ps []preflight.Problem
	for _, s := range snaps {
		rep, err := preflight.Snapshot(ctx, s, preflight.Options{})
		if err != nil {
			return nil, err
		}
		for _, p := range rep.Problems {
			if len(snaps) == 1 {
				p.Platform = ""
			}
			ps = append(ps, p)
		}
	}
	return ps, nil
}

// compare fills the verdict, cause and reasons of di.
func (r *run) compare(ctx context.Context, rd *reader, im *config.Image, di *DetectImage) error {
	res, err := rd.c.Diff(ctx, di.Baseline, di.Candidate)
	if err != nil {
		var nf *detect.NotFoundError
		if errors.As(err, &nf) && nf.Ref == di.Baseline {
			return &BaselineMissingError{Image: im.Name, Ref: di.Baseline, Err: err}
		}
		return fmt.Errorf("image %s: %w", im.Name, err)
	}
	di.Result = res
	di.Verdict = res.Verdict
	di.BaselineSource = baselineSource(res)
	for _, p := range res.Platforms {
		for _, w := range p.Warnings {
			di.Warnings = append(di.Warnings, Warning{errors.New(w)})
		}
	}
	if !res.Changed() {
		return nil
	}
	di.Reasons = Reasons(res)
	di.Summary = summarise(res)
	di.Packages = res.Packages
	di.Cause = r.cause(ctx, rd, im, res)
	return nil
}

// baselineSource says what was read of the baseline (side A) of res: of
// several platforms, the first of layers, summary, cache, none that one got.
func baselineSource(res *detect.Result) string {
	out := ""
	for _, p := range res.Platforms {
		if p.SourceA != "" && (out == "" || slices.Index(sourceRank, p.SourceA) < slices.Index(sourceRank, out)) {
			out = p.SourceA
		}
	}
	return out
}

// sourceRank orders the sources of a platform image, most read first.
var sourceRank = []string{detect.SourceLayers, detect.SourceSummary, detect.SourceCache, detect.SourceNone}
