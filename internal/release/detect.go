package release

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/imgver/imgver/internal/check"
	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/detect"
	"github.com/imgver/imgver/internal/pinfile"
)

// DetectSchemaVersion is the version of the JSON form of DetectReport.
const DetectSchemaVersion = 1

// Verdicts of DetectImage, besides detect.Same and detect.Changed.
const (
	NotCompared = "not-compared" // unpinned or manually pinned: nothing to compare
)

// Causes of a change, where one can be told.
const (
	CauseBase   = "base"   // only paths written by the base image's layers differ
	CauseApp    = "app"    // paths written by the image's own layers differ
	CauseConfig = "config" // only the runtime config differs
)

// DetectImage is the outcome for one image.
type DetectImage struct {
	Name       string `json:"name"`
	Repository string `json:"repository"`
	// StateBefore and VersionBefore are the pin before this run.
	StateBefore   State  `json:"state_before"`
	VersionBefore string `json:"version_before,omitempty"`
	// Candidate is the fresh build; Baseline the published pinned image.
	Candidate string `json:"candidate,omitempty"`
	Baseline  string `json:"baseline,omitempty"`
	// Verdict is "same", "changed" or "not-compared".
	Verdict string `json:"verdict"`
	// Cause is "base", "app" or "config" for a change whose cause can be told.
	Cause string `json:"cause,omitempty"`
	// Summary is one line saying what changed; Reasons says it in full.
	Summary string   `json:"summary,omitempty"`
	Reasons []string `json:"reasons,omitempty"`
	// StateAfter is the state after this run (with --write, what was written).
	StateAfter State `json:"state_after"`
	// Version is what the image deploys with after this run: its pin, or the
	// short SHA when it is unpinned (and then published).
	Version string `json:"version"`
	Publish bool   `json:"publish"`
	// BaseStale is true when a base image of the Dockerfile is pinned to a
	// digest its tag no longer points to (a silent upstream rebuild: rebuild
	// the image); null when unknown or not looked up.
	BaseStale *bool `json:"base_stale"`
	// Checked is set when the candidate went through the checks of imgver
	// check (not with --no-check, nor for a candidate that was not built).
	Checked bool `json:"checked"`
	// Problems are what the checks of imgver check found in the candidate.
	Problems []check.Problem `json:"problems,omitempty"`
	// Warnings say what could not be looked at.
	Warnings []string `json:"warnings,omitempty"`
	// Result is the full comparison (JSON output with --verbose).
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
}

// CompareFunc compares the baseline of im (side A, the old image) with its
// candidate (side B, the new one).
type CompareFunc func(ctx context.Context, im *config.Image, baseline, candidate string) (*detect.Result, error)

// DetectOptions are the knobs of Detect.
type DetectOptions struct {
	// Commit is the commit SHA the candidates were built from.
	Commit string
	// Candidates overrides the candidate attribute per image name.
	Candidates map[string]string
	// Write unpins the changed images in the pin file.
	Write bool
	// Jobs is how many images are compared at once (default: CPUs).
	Jobs int
	// Compare compares two images.
	Compare CompareFunc
	// BaseLayers, if set, returns how many of the bottom layers of the
	// platform's image in the baseline and in the candidate come from their
	// base image, to tell a "base" cause from an "app" one; an error leaves
	// the cause untold. (*BaseLayers).Count is one.
	BaseLayers func(ctx context.Context, im *config.Image, platform, baseline, candidate string) (inBaseline, inCandidate int, err error)
	// Check, if set, checks each candidate Detect reads (compared, or
	// unpinned and so about to be published) and returns its problems.
	Check func(ctx context.Context, im *config.Image, candidate string) ([]check.Problem, error)
	// BaseStale, if set, reports whether a FROM of im's Dockerfile is pinned
	// to a digest its tag no longer points to; an error leaves it unknown.
	BaseStale func(ctx context.Context, im *config.Image) (bool, error)
	// Done is called after each image is compared.
	Done func(name string)
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

// CandidateRef expands the candidate of im: {name}, {var} and {sha} (the
// short SHA) are replaced.
func CandidateRef(im *config.Image, ref, short string) (string, error) {
	out, err := config.ExpandCandidate(ref, im.Name, im.Var, short)
	if err != nil {
		return "", fmt.Errorf("image %s: %w", im.Name, err)
	}
	return out, nil
}

// Detect compares the candidate of every automatically pinned image with its
// pinned release in the registry and, with Write, unpins those that changed,
// in one atomic write. Manual pins are never compared nor unpinned; unpinned
// images need no comparison. When any image cannot be compared, nothing is
// written and the errors are returned joined (a *BaselineMissingError for a
// release not yet published).
func Detect(ctx context.Context, cfg *config.Config, o DetectOptions) (*DetectReport, error) {
	short, err := ShortSHA(cfg, o.Commit)
	if err != nil {
		return nil, err
	}
	for n := range o.Candidates {
		if _, ok := cfg.Image(n); !ok {
			return nil, &config.UnknownImageError{Name: n, Known: cfg.Names()}
		}
	}
	f, err := Load(cfg)
	if err != nil {
		return nil, err
	}
	rep := &DetectReport{SchemaVersion: DetectSchemaVersion, Commit: o.Commit, ShortSHA: short,
		Changed: []string{}, Publish: []PublishItem{}, Broken: []string{}, BaseStale: []string{}}
	rep.Images = make([]DetectImage, len(cfg.Images))
	errs := make([]error, len(cfg.Images))
	jobs := o.Jobs
	if jobs <= 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	var g errgroup.Group
	g.SetLimit(jobs)
	var mu sync.Mutex
	for i := range cfg.Images {
		im := &cfg.Images[i]
		st := status(im, f)
		di := &rep.Images[i]
		*di = DetectImage{Name: im.Name, Repository: im.Repository, StateBefore: st.State, VersionBefore: st.Version, Verdict: NotCompared}
		cand := im.Candidate
		if c, ok := o.Candidates[im.Name]; ok {
			cand = c
		}
		switch {
		case st.State == Pinned && cand == "":
			errs[i] = fmt.Errorf("image %s has no candidate: set candidate in %s or pass --candidate %s=REF", im.Name, cfg.Path, im.Name)
			continue
		case st.State == Manual || cand == "":
			// Neither compared nor checked; its base may still be stale.
			cand = ""
		}
		if cand != "" {
			if di.Candidate, errs[i] = CandidateRef(im, cand, short); errs[i] != nil {
				continue
			}
		}
		if st.State == Pinned {
			di.Baseline = im.Repository + ":" + st.Version
		}
		g.Go(func() error {
			errs[i] = inspectImage(ctx, im, di, o)
			if o.Done != nil {
				mu.Lock()
				o.Done(im.Name)
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
	if o.Write && len(changed) > 0 {
		err := update(ctx, cfg, func(f *pinfile.File) (bool, error) {
			for i, di := range rep.Images {
				if !changed[di.Name] {
					continue
				}
				// Unpin only the pin that was compared; a pin changed by
				// hand meanwhile stops the run.
				im := &cfg.Images[i]
				if now := status(im, f); now.State != Pinned || now.Version != di.VersionBefore {
					return false, fmt.Errorf("image %s: its pin changed while it was compared (now %s %s); run again", di.Name, now.State, now.Version)
				}
				f.Remove(im.Var)
			}
			return true, nil
		})
		if err != nil {
			return nil, err
		}
		rep.Written = true
	}
	for i := range rep.Images {
		di := &rep.Images[i]
		di.StateAfter, di.Version = di.StateBefore, di.VersionBefore
		if changed[di.Name] || di.StateBefore == Unpinned {
			di.StateAfter, di.Version, di.Publish = Unpinned, short, true
			rep.Publish = append(rep.Publish, PublishItem{Name: di.Name, Repository: di.Repository, Tag: short})
		}
	}
	return rep, nil
}

// inspectImage compares the candidate of di with its baseline (when it has
// one), checks the candidate (when it has one) and looks at its base.
func inspectImage(ctx context.Context, im *config.Image, di *DetectImage, o DetectOptions) error {
	if di.Baseline != "" {
		if err := compareImage(ctx, im, di, o); err != nil {
			return err
		}
	}
	if di.Candidate != "" && o.Check != nil {
		ps, err := o.Check(ctx, im, di.Candidate)
		switch {
		case err != nil && di.Baseline == "" && detect.IsNotFound(err):
			// An unpinned image CI did not build here: nothing to check.
			di.Warnings = append(di.Warnings, fmt.Sprintf("candidate %s not found: not checked", di.Candidate))
		case err != nil:
			return fmt.Errorf("image %s: checking %s: %w", im.Name, di.Candidate, err)
		default:
			di.Checked, di.Problems = true, ps
		}
	}
	if o.BaseStale != nil && im.Dockerfile != "" {
		stale, err := o.BaseStale(ctx, im)
		if err != nil {
			di.Warnings = append(di.Warnings, fmt.Sprintf("base images not checked: %v", err))
		} else {
			di.BaseStale = &stale
		}
	}
	return nil
}

// compareImage fills the verdict, cause and reasons of di.
func compareImage(ctx context.Context, im *config.Image, di *DetectImage, o DetectOptions) error {
	res, err := o.Compare(ctx, im, di.Baseline, di.Candidate)
	if err != nil {
		var nf *detect.NotFoundError
		if errors.As(err, &nf) && nf.Ref == di.Baseline {
			return &BaselineMissingError{Image: im.Name, Ref: di.Baseline, Err: err}
		}
		return fmt.Errorf("image %s: %w", im.Name, err)
	}
	di.Result = res
	di.Verdict = res.Verdict
	if !res.Changed() {
		return nil
	}
	di.Reasons = Reasons(res)
	di.Summary = summarise(res)
	di.Cause = cause(ctx, im, res, o)
	return nil
}

// cause tells why res changed, or "" when it cannot be told: "config" when
// only the runtime config differs, "base" when only files written by the
// base image's layers differ (on both sides), "app" when a file written by
// an image's own layers differs. Files of the base and a config change
// together, a platform on one side only, or base layers that cannot be
// counted leave it untold.
func cause(ctx context.Context, im *config.Image, res *detect.Result, o DetectOptions) string {
	files, config := false, false
	for _, p := range res.Platforms {
		if p.OnlyIn != "" {
			return ""
		}
		files = files || len(p.Added)+len(p.Removed)+len(p.Modified) > 0
		config = config || len(p.Config) > 0
	}
	if !files {
		if config {
			return CauseConfig
		}
		return ""
	}
	if o.BaseLayers == nil {
		return ""
	}
	for _, p := range res.Platforms {
		if len(p.Added)+len(p.Removed)+len(p.Modified) == 0 {
			continue
		}
		na, nb, err := o.BaseLayers(ctx, im, p.Platform, res.A, res.B)
		if err != nil {
			return ""
		}
		for _, fcs := range [][]*detect.FileChange{p.Added, p.Removed, p.Modified} {
			for _, fc := range fcs {
				if fc.LayerA >= na || fc.LayerB >= nb {
					return CauseApp
				}
			}
		}
	}
	if config {
		return ""
	}
	return CauseBase
}

// summarise says in one line what changed.
func summarise(res *detect.Result) string {
	var added, removed, modified, fields, only int
	var first string
	for _, p := range res.Platforms {
		if p.OnlyIn != "" {
			only++
		}
		added += len(p.Added)
		removed += len(p.Removed)
		modified += len(p.Modified)
		fields += len(p.Config)
		if first == "" {
			for _, fcs := range [][]*detect.FileChange{p.Modified, p.Added, p.Removed} {
				if len(fcs) > 0 && first == "" {
					first = fcs[0].Path
				}
			}
		}
	}
	var parts []string
	add := func(n int, one, more string) {
		switch {
		case n == 1:
			parts = append(parts, "1 "+one)
		case n > 1:
			parts = append(parts, fmt.Sprintf("%d %s", n, more))
		}
	}
	add(modified, "modified", "modified")
	add(added, "added", "added")
	add(removed, "removed", "removed")
	add(fields, "config field", "config fields")
	add(only, "platform on one side only", "platforms on one side only")
	s := strings.Join(parts, ", ")
	if first != "" {
		s += " (e.g. " + first + ")"
	}
	return s
}

// Reasons lists every difference of res, one line each.
func Reasons(res *detect.Result) []string {
	var out []string
	multi := len(res.Platforms) > 1
	for _, p := range res.Platforms {
		pre := ""
		if multi {
			pre = p.Platform + ": "
		}
		if p.OnlyIn != "" {
			out = append(out, fmt.Sprintf("%splatform only in %s", pre, p.OnlyIn))
		}
		for _, fc := range p.Added {
			out = append(out, fmt.Sprintf("%sadded %s", pre, fc.Path))
		}
		for _, fc := range p.Removed {
			out = append(out, fmt.Sprintf("%sremoved %s", pre, fc.Path))
		}
		for _, fc := range p.Modified {
			var attrs []string
			for _, c := range fc.Changes {
				attrs = append(attrs, fmt.Sprintf("%s %s -> %s", c.Field, c.A, c.B))
			}
			out = append(out, fmt.Sprintf("%smodified %s: %s", pre, fc.Path, strings.Join(attrs, ", ")))
		}
		for _, c := range p.Config {
			out = append(out, fmt.Sprintf("%sconfig %s: %s -> %s", pre, c.Field, c.A, c.B))
		}
		if p.HistoryCounts {
			for _, h := range p.History {
				out = append(out, fmt.Sprintf("%shistory %d: %q -> %q", pre, h.Index, h.A, h.B))
			}
		}
	}
	return out
}
