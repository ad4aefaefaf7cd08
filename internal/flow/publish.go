package flow

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/imgver/imgver/internal/clip"
	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/detect"
	"github.com/imgver/imgver/internal/preflight"
	"github.com/imgver/imgver/internal/release"
)

// publishSchemaVersion is the version of the JSON form of PublishReport.
const publishSchemaVersion = 1

// PublishMode chooses the images Publish pushes: "changed" (the default)
// every image unpinned in the pin file, as detect --write leaves it; "all"
// every image of the config that is not pinned by hand, pinned or not (a
// publish of everything, to rescan unchanged images for new CVEs).
type PublishMode string

// Statuses of a PublishedImage.
const (
	publishPushed    = "pushed"     // the SHA tag was pushed in this run
	publishExists    = "exists"     // the SHA tag already held this manifest
	publishWouldPush = "would-push" // dry run: it would be pushed
)

// PublishedImage is one image Publish pushes (or found already pushed).
type PublishedImage struct {
	Name       string `json:"name"`
	Repository string `json:"repository"`
	// Tag is the short SHA: the image is <repository>:<tag>.
	Tag string `json:"tag"`
	// Digest is the manifest digest pushed.
	Digest string `json:"digest"`
	// AlsoTags are the extra tags (--also-tag) that point at Digest after
	// the run; Moved those of them this run moved.
	AlsoTags []string `json:"also_tags"`
	Moved    []string `json:"moved,omitempty"`
	// Status is "pushed", "exists" (nothing to push: a rerun) or
	// "would-push" (dry run).
	Status string `json:"status"`
	// Candidate is the fresh build that was pushed.
	Candidate string `json:"candidate"`
	// Reencoded is set for a docker-archive or docker-daemon candidate,
	// whose manifest go-containerregistry writes (gzip layers).
	Reencoded bool `json:"reencoded,omitempty"`
	// Checked is set when the candidate went through the image checks;
	// Problems are what they found.
	Checked  bool                `json:"checked"`
	Problems []preflight.Problem `json:"problems,omitempty"`
	// Summaries are the summaries attached to what was pushed, one per
	// platform image (none with NoSummary, in a dry run, or for an image
	// that existed with its summaries).
	Summaries []AttachedSummary `json:"summaries,omitempty"`
	// Warnings say what was pushed without its summary (a
	// *SummaryNotAttachedError): the push stands.
	Warnings []Warning `json:"warnings,omitempty"`

	im       *config.Image
	artifact *detect.Artifact
	tag      name.Tag
	also     []name.Tag
}

// PublishReport is the outcome of Publish.
type PublishReport struct {
	SchemaVersion int              `json:"schema_version"`
	Commit        string           `json:"commit"`
	ShortSHA      string           `json:"short_sha"`
	Mode          PublishMode      `json:"mode"`
	DryRun        bool             `json:"dry_run"`
	Images        []PublishedImage `json:"images"`
	// Broken names the images whose candidate fails the image checks: when
	// it is not empty, nothing was pushed.
	Broken []string `json:"broken"`
}

// PublishOptions are the knobs of Publish.
type PublishOptions struct {
	// Mode is "changed" (default) or "all".
	Mode PublishMode
	// Commit is the commit SHA the candidates were built from.
	Commit string
	// Candidates overrides the candidate attribute per image name.
	Candidates map[string]string
	// AlsoTags are tags moved to each pushed manifest after its SHA tag.
	AlsoTags []string
	// DryRun resolves and checks everything and pushes nothing.
	DryRun bool
	// Force pushes over a SHA tag that holds another manifest.
	Force bool
	// NoCheck skips the image checks of the candidates.
	NoCheck bool
	// NoSummary attaches no summary to the images pushed.
	NoSummary bool
	// Jobs is how many images are read and pushed at once (default: CPUs).
	Jobs int
	// Remote are the registry options (auth, transport, retries).
	Remote []remote.Option
	// Progress, if set, is told when an image is done (ImageDone) and, as
	// blobs are put in place (uploaded, or found in the registry), the bytes
	// of blobs in place so far in the run (LayersRead).
	Progress Progress
}

// Publish pushes the candidate of every image to publish under
// <repository>:<short SHA>, by manifest and blobs (a blob the registry has
// is not uploaded again; a registry source's blobs are mounted or copied as
// they are, so the pushed digest is the candidate's), then moves AlsoTags.
//
// Nothing is pushed before every target is resolved: a SHA tag that already
// holds the candidate is "exists" (a rerun is safe and finishes an
// interrupted one), a SHA tag that holds another manifest is an error naming
// both digests unless Force. Then the candidates go through the image checks
// unless NoCheck: when one fails, the report lists it in Broken and nothing
// is pushed.
//
// After an image is pushed, the summary of each of its platform images is
// attached to it (unless NoSummary), and to an image that was there already
// when one of its platform images lacks it (an interrupted publish). A
// summary that cannot be made or attached is a warning on the image: the
// image is pushed and right, a detect against it reads its layers instead,
// and imgver summarize attaches the summary later.
func Publish(ctx context.Context, cfg *config.Config, o PublishOptions) (*PublishReport, error) {
	mode := o.Mode
	if mode == "" {
		mode = "changed"
	}
	if mode != "changed" && mode != "all" {
		return nil, fmt.Errorf("unknown publish mode %s (want changed or all)", clip.Quote(string(mode)))
	}
	short, f, err := start(cfg, o.Commit, o.Candidates)
	if err != nil {
		return nil, err
	}
	rep := &PublishReport{SchemaVersion: publishSchemaVersion, Commit: o.Commit, ShortSHA: short, Mode: mode,
		DryRun: o.DryRun, Images: []PublishedImage{}, Broken: []string{}}
	for i, st := range release.Statuses(cfg, f) {
		if st.State == release.Manual || mode == "changed" && st.State != release.Unpinned {
			continue
		}
		im := &cfg.Images[i]
		pi, err := publishPlan(im, short, o)
		if err != nil {
			return nil, err
		}
		rep.Images = append(rep.Images, pi)
	}
	jobs := o.Jobs
	if jobs <= 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	// One bound on layer reads for every image, as Detect has.
	// WithPackages: the summaries attached serve detect, which reports
	// packages (and a summary with packages serves a Comparer without).
	cmp, err := detect.New(detect.WithBaseDir(cfg.Dir), detect.WithRemoteOptions(o.Remote...), detect.WithJobs(jobs),
		detect.WithReadLimit(semaphore.NewWeighted(int64(jobs))), detect.WithPackages())
	if err != nil {
		return nil, err
	}
	opts := append([]remote.Option{remote.WithContext(ctx)}, o.Remote...)

	// Resolve every target before anything is pushed.
	if err := publishEach(rep.Images, jobs, func(pi *PublishedImage) error {
		return publishResolve(ctx, cmp, pi, o.Force, opts)
	}); err != nil {
		return nil, err
	}
	// Check every candidate that something will point at.
	if !o.NoCheck {
		if err := publishEach(rep.Images, jobs, func(pi *PublishedImage) error {
			if pi.Status == publishExists && len(pi.Moved) == 0 {
				return nil
			}
			return publishCheck(ctx, cmp, pi)
		}); err != nil {
			return nil, err
		}
		for _, pi := range rep.Images {
			if len(pi.Problems) > 0 {
				rep.Broken = append(rep.Broken, pi.Name)
			}
		}
		if len(rep.Broken) > 0 {
			return rep, nil
		}
	}
	if o.DryRun {
		return rep, nil
	}
	prog := publishProgress{p: o.Progress}
	if prog.p != nil {
		prog.p.Start(len(rep.Images))
	}
	err = publishEach(rep.Images, jobs, func(pi *PublishedImage) error {
		defer prog.imageDone(pi.Name)
		if err := publishImage(ctx, pi, opts, &prog); err != nil {
			return err
		}
		if !o.NoSummary {
			if err := publishSummaries(ctx, cmp, pi, opts); err != nil {
				pi.Warnings = append(pi.Warnings, Warning{&SummaryNotAttachedError{Err: err}})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// A summary cut short by a signal ended as a warning: the run was
	// interrupted all the same.
	if ctx.Err() != nil {
		return nil, fmt.Errorf("publishing: %w", context.Cause(ctx))
	}
	return rep, nil
}

// SummaryNotAttachedError is an image pushed without its summary.
type SummaryNotAttachedError struct{ Err error }

func (e *SummaryNotAttachedError) Error() string {
	return fmt.Sprintf("pushed without its summary (imgver summarize attaches it): %v", e.Err)
}

func (e *SummaryNotAttachedError) Unwrap() error { return e.Err }

// publishSummaries attaches the summary of each platform image of pi's
// candidate to what was pushed. An image that was there already gets them
// only when a platform image of it lacks a summary with cmp's options.
func publishSummaries(ctx context.Context, cmp *detect.Comparer, pi *PublishedImage, opts []remote.Option) error {
	pushed, err := platformManifests(pi.artifact)
	if err != nil {
		return err
	}
	repo := pi.tag.Context()
	if pi.Status == publishExists {
		if ok, err := haveSummaries(ctx, repo, pushed, cmp.SummaryKey(), opts); err != nil || ok {
			return err
		}
	}
	sums, err := cmp.Summarize(ctx, pi.Candidate)
	if err != nil {
		return err
	}
	for _, s := range sums {
		if !slices.Contains(pushed, s.Subject.Digest) {
			return fmt.Errorf("the summary of platform %s names %s, which was not pushed", s.Platform, s.Subject.Digest)
		}
	}
	pi.Summaries, err = attachSummaries(ctx, repo, sums, opts)
	return err
}

// publishPlan names the candidate and the tags of one image.
func publishPlan(im *config.Image, short string, o PublishOptions) (PublishedImage, error) {
	pi := PublishedImage{Name: im.Name, Repository: im.Repository, Tag: short, AlsoTags: []string{}, im: im}
	cand := im.Candidate
	if c, ok := o.Candidates[im.Name]; ok {
		cand = c
	}
	if cand == "" {
		return pi, fmt.Errorf("image %s has no candidate to publish: set candidate in images.hcl or pass --candidate %s=REF", im.Name, im.Name)
	}
	var err error
	if pi.Candidate, err = candidateRef(im, cand, short); err != nil {
		return pi, err
	}
	if pi.tag, err = name.NewTag(im.Repository + ":" + short); err != nil {
		return pi, fmt.Errorf("image %s: %w", im.Name, err)
	}
	for _, t := range o.AlsoTags {
		tag, err := name.NewTag(im.Repository + ":" + t)
		if err != nil || tag.TagStr() != t {
			return pi, fmt.Errorf("--also-tag %s is not a valid tag", clip.Quote(t))
		}
		if t == short {
			continue
		}
		pi.also = append(pi.also, tag)
		pi.AlsoTags = append(pi.AlsoTags, t)
	}
	return pi, nil
}

// publishEach runs f on every image, jobs at a time, and joins the errors.
func publishEach(images []PublishedImage, jobs int, f func(*PublishedImage) error) error {
	errs := make([]error, len(images))
	var g errgroup.Group
	g.SetLimit(jobs)
	for i := range images {
		g.Go(func() error {
			errs[i] = f(&images[i])
			return nil
		})
	}
	_ = g.Wait()
	return errors.Join(errs...)
}

// publishConflictError is a SHA tag that holds another manifest.
type publishConflictError struct {
	image, tag, has, want string
}

func (e *publishConflictError) Error() string {
	return fmt.Sprintf("image %s: %s already holds %s, not the candidate's %s (a rebuild of the same commit? --force pushes over it)",
		e.image, e.tag, e.has, e.want)
}

// publishResolve opens the candidate of pi and looks up its tags: the
// status says whether the SHA tag must be pushed, Moved which extra tags
// must move.
func publishResolve(ctx context.Context, cmp *detect.Comparer, pi *PublishedImage, force bool, opts []remote.Option) error {
	a, err := cmp.Open(ctx, pi.Candidate)
	if err != nil {
		return fmt.Errorf("image %s: %w", pi.Name, err)
	}
	pi.artifact, pi.Digest, pi.Reencoded = a, a.Digest.String(), a.Reencoded
	has, err := release.HeadDigest(pi.tag, opts)
	if err != nil {
		return fmt.Errorf("image %s: looking up %s: %w", pi.Name, pi.tag, err)
	}
	switch {
	case has == nil:
		pi.Status = publishWouldPush
	case *has == a.Digest:
		pi.Status = publishExists
	case force:
		pi.Status = publishWouldPush
	default:
		return &publishConflictError{image: pi.Name, tag: pi.tag.String(), has: has.String(), want: pi.Digest}
	}
	for _, t := range pi.also {
		has, err := release.HeadDigest(t, opts)
		if err != nil {
			return fmt.Errorf("image %s: looking up %s: %w", pi.Name, t, err)
		}
		if has == nil || *has != a.Digest {
			pi.Moved = append(pi.Moved, t.TagStr())
		}
	}
	return nil
}

// publishCheck runs the image checks on the candidate of pi.
func publishCheck(ctx context.Context, cmp *detect.Comparer, pi *PublishedImage) error {
	reps, err := preflight.Run(ctx, cmp, pi.Candidate, preflight.Options{})
	if err != nil {
		return fmt.Errorf("image %s: checking %s: %w", pi.Name, pi.Candidate, err)
	}
	pi.Checked = true
	for _, r := range reps {
		for _, p := range r.Problems {
			if len(reps) > 1 {
				p.Platform = r.Platform
			}
			pi.Problems = append(pi.Problems, p)
		}
	}
	return nil
}

// publishImage pushes one image: its manifest and blobs under the SHA tag
// (unless it is there already), then each extra tag that must move.
func publishImage(ctx context.Context, pi *PublishedImage, opts []remote.Option, prog *publishProgress) error {
	t := pi.artifact.Taggable()
	if pi.Status != publishExists {
		updates := make(chan v1.Update, 16)
		done := make(chan struct{})
		go func() {
			defer close(done)
			var last int64
			for u := range updates {
				if u.Complete > last {
					prog.uploaded(u.Complete - last)
					last = u.Complete
				}
			}
		}()
		err := remote.Push(pi.tag, t, append(slices.Clip(opts), remote.WithContext(ctx), remote.WithProgress(updates))...)
		<-done
		if err != nil {
			return fmt.Errorf("pushing image %s to %s: %w", pi.Name, pi.tag, err)
		}
		pi.Status = publishPushed
	}
	for _, tag := range pi.also {
		if !slices.Contains(pi.Moved, tag.TagStr()) {
			continue
		}
		if err := remote.Tag(tag, t, append(slices.Clip(opts), remote.WithContext(ctx))...); err != nil {
			return fmt.Errorf("tagging image %s as %s: %w", pi.Name, tag, err)
		}
	}
	return nil
}

// publishProgress tells PublishOptions.Progress, if any, what is done, one
// call at a time, and counts the bytes of blobs in place.
type publishProgress struct {
	p     Progress
	mu    sync.Mutex
	bytes int64
}

func (p *publishProgress) imageDone(name string) {
	if p.p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.p.ImageDone(name)
}

func (p *publishProgress) uploaded(n int64) {
	if p.p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bytes += n
	p.p.LayersRead(p.bytes)
}
