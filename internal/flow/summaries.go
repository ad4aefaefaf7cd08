package flow

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/imgver/imgver/internal/detect"
	"github.com/imgver/imgver/internal/referrer"
)

// summarizeSchemaVersion is the version of the JSON form of SummarizeReport.
const summarizeSchemaVersion = 1

// Statuses of an AttachedSummary.
const (
	summaryAttached = "attached" // pushed in this run
	summaryExists   = "exists"   // the registry had it already
)

// registrySummaries finds the summaries of registry images attached to
// them (internal/referrer): the detect.SummaryFinder of detect and diff.
type registrySummaries struct{ remote []remote.Option }

var _ detect.SummaryFinder = registrySummaries{}

// Summaries returns the detect.SummaryFinder that looks for the summary of
// a registry image beside it in its repository, through the referrers API
// or the referrers tag (sha256-<hex>).
func Summaries(opts []remote.Option) detect.SummaryFinder { return registrySummaries{opts} }

// FindSummary returns the first summary of subject, in the order of keys,
// whose options annotation is that key and which can be read. nil, nil when
// subject has none with one of keys; the last error when none could be read.
func (f registrySummaries) FindSummary(ctx context.Context, subject name.Digest, keys []string) ([]byte, error) {
	descs, err := referrer.List(ctx, subject, detect.SummaryArtifactType, f.remote...)
	if err != nil {
		return nil, err
	}
	var errs error
	for _, k := range keys {
		for _, d := range descs {
			if d.Annotations[detect.SummaryOptionsAnnotation] != k {
				continue
			}
			a, err := referrer.Fetch(ctx, subject, d, f.remote...)
			if err != nil {
				errs = err
				continue
			}
			return a.Data, nil
		}
	}
	return nil, errs
}

// AttachedSummary is the summary of one platform image, attached to it.
type AttachedSummary struct {
	Platform string `json:"platform"`
	// Subject is the digest of the platform image's manifest.
	Subject string `json:"subject"`
	// Digest is the digest of the summary's artifact manifest; Bytes the
	// size of the encoded summary.
	Digest string `json:"digest"`
	Bytes  int    `json:"bytes"`
	// Status is "attached" (pushed in this run) or "exists".
	Status string `json:"status"`
}

// attachSummaries attaches each summary to its subject in repo.
func attachSummaries(ctx context.Context, repo name.Repository, sums []detect.PlatformSummary, opts []remote.Option) ([]AttachedSummary, error) {
	var out []AttachedSummary
	for _, s := range sums {
		a := referrer.Artifact{ArtifactType: detect.SummaryArtifactType, MediaType: s.MediaType, Data: s.Data,
			Annotations: map[string]string{detect.SummaryOptionsAnnotation: s.OptionsKey}}
		d, pushed, err := referrer.Attach(ctx, repo, s.Subject, a, opts...)
		if err != nil {
			return out, fmt.Errorf("attaching the summary of %s (%s): %w", repo.Digest(s.Subject.Digest.String()), s.Platform, err)
		}
		st := summaryExists
		if pushed {
			st = summaryAttached
		}
		out = append(out, AttachedSummary{Platform: s.Platform, Subject: s.Subject.Digest.String(), Digest: d.Digest.String(), Bytes: len(s.Data), Status: st})
	}
	return out, nil
}

// SummarizedImage is one image Summarize read.
type SummarizedImage struct {
	Ref       string            `json:"ref"`
	Summaries []AttachedSummary `json:"summaries"`
}

// SummarizeReport is the outcome of Summarize.
type SummarizeReport struct {
	SchemaVersion int               `json:"schema_version"`
	Images        []SummarizedImage `json:"images"`
}

// SummarizeOptions are the knobs of Summarize.
type SummarizeOptions struct {
	// Platform summarizes only this platform of multi-platform images.
	Platform string
	// Jobs bounds the images read at once and, across them, the layers
	// read at once (default: CPUs).
	Jobs int
	// Remote are the registry options (auth, transport, retries).
	Remote []remote.Option
	// Detect are more options of the detect.Comparer that reads the
	// images (a local cache of layer summaries).
	Detect []detect.Option
}

// NotInRegistryError is a reference Summarize cannot attach a summary to:
// it does not name a registry image.
type NotInRegistryError struct{ Ref string }

func (e *NotInRegistryError) Error() string {
	return fmt.Sprintf("%s is not a registry image: a summary is attached to an image in a registry", e.Ref)
}

// Summarize reads each registry image of refs (every platform, or
// Platform) and attaches the summary of each platform image to it, beside
// it in its repository, as publish does for the images it pushes; a
// summary already there is left as it is ("exists"). Summaries are made
// with the package report and the default content normalisers, the options
// of imgver detect, so that detect and diff (without --no-normalise) can use
// them.
func Summarize(ctx context.Context, refs []string, o SummarizeOptions) (*SummarizeReport, error) {
	jobs := o.Jobs
	if jobs <= 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	repos := make([]name.Repository, len(refs))
	for i, ref := range refs {
		r, err := detect.ParseReference(ref, "")
		if err != nil {
			return nil, err
		}
		if r.Transport != detect.TransportDocker {
			return nil, &NotInRegistryError{Ref: ref}
		}
		repos[i] = r.Name.Context()
	}
	cmp, err := detect.New(append([]detect.Option{detect.WithRemoteOptions(o.Remote...), detect.WithJobs(jobs),
		detect.WithReadLimit(semaphore.NewWeighted(int64(jobs))), detect.WithPlatform(o.Platform), detect.WithPackages()}, o.Detect...)...)
	if err != nil {
		return nil, err
	}
	rep := &SummarizeReport{SchemaVersion: summarizeSchemaVersion, Images: make([]SummarizedImage, len(refs))}
	errs := make([]error, len(refs))
	var g errgroup.Group
	g.SetLimit(jobs)
	for i, ref := range refs {
		g.Go(func() error {
			sums, err := cmp.Summarize(ctx, ref)
			if err != nil {
				errs[i] = err
				return nil
			}
			rep.Images[i] = SummarizedImage{Ref: ref}
			rep.Images[i].Summaries, errs[i] = attachSummaries(ctx, repos[i], sums, o.Remote)
			return nil
		})
	}
	_ = g.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return rep, nil
}

// platformManifests are the digests of the platform image manifests a
// push of a writes: a's own for an image; for an index, those of its images
// (not attestations, whose platform is unknown/unknown).
func platformManifests(a *detect.Artifact) ([]v1.Hash, error) {
	if a.Index == nil {
		return []v1.Hash{a.Digest}, nil
	}
	m, err := a.Index.IndexManifest()
	if err != nil {
		return nil, err
	}
	var out []v1.Hash
	for _, d := range m.Manifests {
		if d.MediaType.IsImage() && (d.Platform == nil || d.Platform.OS != "unknown") {
			out = append(out, d.Digest)
		}
	}
	return out, nil
}

// haveSummaries reports whether every manifest of ds in repo has a summary
// made with options key.
func haveSummaries(ctx context.Context, repo name.Repository, ds []v1.Hash, key string, opts []remote.Option) (bool, error) {
	for _, d := range ds {
		have, err := referrer.List(ctx, repo.Digest(d.String()), detect.SummaryArtifactType, opts...)
		if err != nil {
			return false, err
		}
		if !slices.ContainsFunc(have, func(d v1.Descriptor) bool { return d.Annotations[detect.SummaryOptionsAnnotation] == key }) {
			return false, nil
		}
	}
	return true, nil
}
