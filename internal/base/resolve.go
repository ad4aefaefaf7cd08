package base

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"

	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/userfile"
)

// Status is the verdict on one base image reference.
type Status string

const (
	// StatusPinnedCurrent: the FROM has a digest and the tag still points
	// to it (see Match for which digest it is).
	StatusPinnedCurrent Status = "pinned-current"
	// StatusPinnedStale: the FROM has a digest but the tag now points to
	// another image: the base was rebuilt or moved.
	StatusPinnedStale Status = "pinned-stale"
	// StatusUnpinned: the FROM names a tag without a digest.
	StatusUnpinned Status = "unpinned"
	// StatusDigestOnly: the FROM names a digest without a tag, so there
	// is nothing to compare it with.
	StatusDigestOnly Status = "digest-only"
	// StatusError: the reference could not be parsed or resolved.
	StatusError Status = "error"
)

// Match says which of the tag's digests a pinned-current FROM holds.
type Match string

const (
	// MatchIndex: the pin is the digest of the tag's image index.
	MatchIndex Match = "index"
	// MatchManifest: the tag is a single-platform image and the pin is its
	// manifest digest.
	MatchManifest Match = "manifest"
	// MatchPlatform: the pin is the digest of the platform's manifest
	// inside the tag's index.
	MatchPlatform Match = "platform"
	// MatchIndexMoved: the pin is an earlier index of the tag whose
	// manifest for the platform is the current one: the index changed only
	// for other platforms (an architecture was added, say). Not a rebuild.
	MatchIndexMoved Match = "index-moved"
)

// Warning is a remark on a reference that does not change its status.
type Warning struct {
	// Kind is "mutable-tag".
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// Result is the verdict on one external FROM of one image.
type Result struct {
	Image      string `json:"image"`
	Dockerfile string `json:"dockerfile"`
	Line       int    `json:"line"`
	// Stage is the name the FROM gives its stage (AS name), if any.
	Stage string `json:"stage,omitempty"`
	// Ref is the reference as written; Resolved is it after ARG
	// substitution, when that differs.
	Ref      string `json:"ref"`
	Resolved string `json:"resolved,omitempty"`
	// Platform is the platform checked (from --platform or WithPlatform).
	Platform string `json:"platform"`
	Status   Status `json:"status"`
	Match    Match  `json:"match,omitempty"`
	// Pinned is the digest in the FROM, if any.
	Pinned string `json:"pinned,omitempty"`
	// Current is the digest the tag points to now (an index or a
	// manifest); CurrentPlatform the platform's manifest inside that index.
	Current         string `json:"current,omitempty"`
	CurrentPlatform string `json:"current_platform,omitempty"`
	// Created is the creation time in the config of the tag's current
	// image for the platform, reported for stale pins when the registry
	// serves it.
	Created  *time.Time `json:"created,omitempty"`
	Warnings []Warning  `json:"warnings,omitempty"`
	// NotUpdatable says why update cannot pin this FROM in place.
	NotUpdatable string `json:"not_updatable,omitempty"`
	// Err is a *ResolveError for StatusError; Error is the message of
	// its cause (the location is in the other fields).
	Error string `json:"error,omitempty"`
	Err   error  `json:"-"`

	from int // index into Dockerfile.Froms
}

// NeedsUpdate reports whether update would rewrite the FROM: it is unpinned,
// stale, or pinned to an index that has since moved.
func (r Result) NeedsUpdate() bool {
	return r.Status == StatusUnpinned || r.Status == StatusPinnedStale ||
		(r.Status == StatusPinnedCurrent && r.Match == MatchIndexMoved)
}

// Report holds the results of one image.
type Report struct {
	Image      string `json:"image"`
	Dockerfile string `json:"dockerfile,omitempty"`
	// Skipped says why the image was not checked.
	Skipped string   `json:"skipped,omitempty"`
	Results []Result `json:"bases"`

	file *Dockerfile
}

// ErrNoDockerfile is returned for an image without a dockerfile.
var ErrNoDockerfile = errors.New("image has no dockerfile")

// A Resolver resolves the base images of Dockerfiles for one run: each
// Dockerfile is parsed once and each tag resolved once, whoever asks (base
// check and update, and the cause analysis and staleness check of the CI
// flow). It is safe for concurrent use, by the calls of one run under one
// context: what the registry answered is kept with the context it was asked
// with.
type Resolver struct {
	o *options

	mu    sync.Mutex
	files map[string]*parsed
	gets  map[string]*got
	sf    singleflight.Group
}

// parsed is a Dockerfile read and parsed, or why it could not be.
type parsed struct {
	df  *Dockerfile
	err error
}

// got is what the registry said about a reference.
type got struct {
	desc *remote.Descriptor
	err  error
}

// NewResolver returns a Resolver.
func NewResolver(opts ...Option) (*Resolver, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	return &Resolver{o: o, files: map[string]*parsed{}, gets: map[string]*got{}}, nil
}

// Dockerfile returns the parsed Dockerfile of img, read and parsed on the
// first call only.
func (rv *Resolver) Dockerfile(img *config.Image) (*Dockerfile, error) {
	if img.Dockerfile == "" {
		return nil, fmt.Errorf("image %s: %w", img.Name, ErrNoDockerfile)
	}
	rv.mu.Lock()
	defer rv.mu.Unlock()
	p, ok := rv.files[img.Dockerfile]
	if !ok {
		p = &parsed{}
		data, err := userfile.ReadFile(img.Dockerfile)
		switch {
		case err != nil:
			p.err = fmt.Errorf("reading Dockerfile of %q: %w", img.Name, err)
		default:
			if p.df, err = Parse(data); err != nil {
				p.err = fmt.Errorf("parsing %s of %q: %w", img.Dockerfile, img.Name, err)
			}
		}
		rv.files[img.Dockerfile] = p
	}
	return p.df, p.err
}

// get is Puller.Get, asked once per reference in the life of rv (a tag is
// resolved once per run); an error is kept too, but not a cancelled one.
func (rv *Resolver) get(ctx context.Context, ref name.Reference) (*remote.Descriptor, error) {
	key := ref.Name()
	rv.mu.Lock()
	g, ok := rv.gets[key]
	rv.mu.Unlock()
	if ok {
		return g.desc, g.err
	}
	v, err, _ := rv.sf.Do(key, func() (any, error) {
		desc, err := rv.o.puller.Get(ctx, ref)
		if ctx.Err() == nil {
			rv.mu.Lock()
			rv.gets[key] = &got{desc, err}
			rv.mu.Unlock()
		}
		return desc, err
	})
	if err != nil {
		return nil, err
	}
	return v.(*remote.Descriptor), nil
}

// Resolve resolves every external base image of each image's Dockerfile and
// returns a Report per image, with a Result per FROM: each reference is
// resolved once, with at most 4 requests at a time. An image without
// a dockerfile gets a Report with Skipped set. A reference that cannot be
// resolved is a Result with StatusError, not an error; the error is for a
// Dockerfile that cannot be read or parsed. The CI flow finds rebuilt bases
// as the results with StatusPinnedStale.
func (rv *Resolver) Resolve(ctx context.Context, imgs []*config.Image) ([]Report, error) {
	o := rv.o
	reps := make([]Report, len(imgs))
	var jobs []*job
	byKey := map[jobKey]*job{}
	type pending struct {
		rep, res int
		j        *job
	}
	var waits []pending
	for i, img := range imgs {
		reps[i] = Report{Image: img.Name, Dockerfile: img.Dockerfile, Results: []Result{}}
		if img.Dockerfile == "" {
			reps[i].Skipped = "no dockerfile"
			continue
		}
		df, err := rv.Dockerfile(img)
		if err != nil {
			return nil, err
		}
		reps[i].file = df
		for k, f := range df.Froms {
			if f.Kind != KindImage {
				continue
			}
			r, j, ok := prepare(img, df, k, o)
			if !ok {
				continue // a stage or scratch once the platform ARGs are in
			}
			reps[i].Results = append(reps[i].Results, r)
			if j == nil {
				continue
			}
			if have, ok := byKey[j.key]; ok {
				j = have
			} else {
				byKey[j.key] = j
				jobs = append(jobs, j)
			}
			waits = append(waits, pending{i, len(reps[i].Results) - 1, j})
		}
	}

	// ctx, not a context of the group: a descriptor rv keeps reads what
	// it reads later (a config) with the context it was got with.
	var g errgroup.Group
	g.SetLimit(o.jobs)
	for _, j := range jobs {
		g.Go(func() error {
			j.out, j.err = rv.resolve(ctx, j.key)
			return ctx.Err()
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, w := range waits {
		r := &reps[w.rep].Results[w.res]
		apply(r, w.j)
	}
	return reps, nil
}

// ImagesWith returns the names of the images of reps with a base of
// status s.
func ImagesWith(reps []Report, s Status) []string {
	var names []string
	for _, rep := range reps {
		if slices.ContainsFunc(rep.Results, func(r Result) bool { return r.Status == s }) {
			names = append(names, rep.Image)
		}
	}
	return names
}

// Stale reports whether a FROM of img's Dockerfile is pinned to a digest its
// tag no longer points to. A reference that cannot be resolved is an error:
// its *ResolveError.
func (rv *Resolver) Stale(ctx context.Context, img *config.Image) (bool, error) {
	if img.Dockerfile == "" {
		return false, fmt.Errorf("image %s: %w", img.Name, ErrNoDockerfile)
	}
	reps, err := rv.Resolve(ctx, []*config.Image{img})
	if err != nil {
		return false, err
	}
	stale := false
	for _, r := range reps[0].Results {
		switch r.Status {
		case StatusError:
			return false, r.Err
		case StatusPinnedStale:
			stale = true
		}
	}
	return stale, nil
}

// jobKey is what is resolved: a tag for a platform, with the pinned digest
// to classify.
type jobKey struct {
	tag      string
	platform string
	pinned   string
}

type job struct {
	key jobKey
	out outcome
	err error
}

// outcome is what the registry says about a jobKey.
type outcome struct {
	current, currentPlatform string
	match                    Match
	stale                    bool
	created                  *time.Time
}

// ResolveError is the Err of a Result with StatusError: it names the image,
// the Dockerfile and line, and the reference.
type ResolveError struct {
	Image, Dockerfile string
	Line              int
	Ref               string
	Err               error
}

func (e *ResolveError) Error() string {
	return fmt.Sprintf("%s:%d: image %q: base %q: %v", e.Dockerfile, e.Line, e.Image, e.Ref, e.Err)
}

func (e *ResolveError) Unwrap() error { return e.Err }

// setErr makes r an error result.
func (r *Result) setErr(err error) {
	r.Status = StatusError
	r.Err = &ResolveError{Image: r.Image, Dockerfile: r.Dockerfile, Line: r.Line, Ref: r.Ref, Err: err}
	r.Error = err.Error()
}

// prepare fills in what the Dockerfile alone tells about FROM k and returns
// the registry job it needs, or nil. It returns false when, with BuildKit's
// automatic platform ARGs substituted, the FROM names an earlier stage
// (FROM build-${TARGETARCH}) or scratch: not an image.
func prepare(img *config.Image, df *Dockerfile, k int, o *options) (Result, *job, bool) {
	f := df.Froms[k]
	r := Result{Image: img.Name, Dockerfile: img.Dockerfile, Line: f.Line, Stage: f.Stage, Ref: f.Raw, from: k}
	if f.Ref != f.Raw {
		r.Resolved = f.Ref
	}
	if !f.InPlace() {
		r.NotUpdatable = f.NotInPlaceReason()
	}
	fail := func(err error) (Result, *job, bool) {
		r.setErr(err)
		return r, nil, true
	}
	// The ARGs as a build for o.platform sees them, BuildKit's automatic
	// platform ARGs included.
	env, err := df.platformArgs(o.platform)
	if err != nil {
		return fail(err)
	}
	pl, err := platformOf(df, f, env, o.platform)
	if err != nil {
		return fail(err)
	}
	r.Platform = pl.String()
	x, err := shell.NewLex(df.escape).ProcessWordWithMatches(f.Raw, env)
	if err != nil {
		return fail(fmt.Errorf("expanding %q: %w", f.Raw, err))
	}
	resolved := x.Result
	if resolved == "scratch" || slices.ContainsFunc(df.Froms[:k], func(p From) bool { return p.Stage != "" && p.Stage == strings.ToLower(resolved) }) {
		return r, nil, false
	}
	r.Resolved = ""
	if resolved != f.Raw {
		r.Resolved = resolved
	}
	ref, err := parseReference(resolved)
	if err != nil {
		// An ARG without a default is only a problem when the reference
		// is broken without it (${V:-3.13} has a default of its own).
		if len(x.Unmatched) > 0 {
			unset := slices.Sorted(maps.Keys(x.Unmatched))
			return fail(fmt.Errorf("parsing reference %q (ARG %s has no default): %w", resolved, strings.Join(unset, ", "), err))
		}
		return fail(fmt.Errorf("parsing reference %q: %w", resolved, err))
	}
	r.Pinned = ref.digest
	if !ref.hasTag {
		r.Status = StatusDigestOnly
		return r, nil, true
	}
	if why := mutableTag(ref.tag.TagStr()); why != "" {
		r.Warnings = append(r.Warnings, Warning{Kind: "mutable-tag", Message: why})
	}
	return r, &job{key: jobKey{tag: ref.tag.Name(), platform: r.Platform, pinned: ref.digest}}, true
}

// apply writes the outcome of j into r.
func apply(r *Result, j *job) {
	if j.err != nil {
		r.setErr(j.err)
		return
	}
	r.Current, r.CurrentPlatform = j.out.current, j.out.currentPlatform
	switch {
	case j.key.pinned == "":
		r.Status = StatusUnpinned
	case j.out.stale:
		r.Status = StatusPinnedStale
		r.Created = j.out.created
	default:
		r.Status = StatusPinnedCurrent
		r.Match = j.out.match
	}
}

// platformOf returns the platform FROM f is pulled for: its --platform
// (with the global ARGs and BuildKit's automatic platform ARGs, which stand
// for def, substituted) or def.
func platformOf(df *Dockerfile, f From, env mapEnv, def v1.Platform) (v1.Platform, error) {
	if f.Platform == "" {
		return def, nil
	}
	lex := shell.NewLex(df.escape)
	s, _, err := lex.ProcessWord(f.Platform, env)
	if err != nil {
		return v1.Platform{}, fmt.Errorf("expanding --platform=%s: %w", f.Platform, err)
	}
	p, err := v1.ParsePlatform(s)
	if err != nil || p.OS == "" || p.Architecture == "" {
		return v1.Platform{}, fmt.Errorf("parsing --platform=%s (%q): want os/arch[/variant]", f.Platform, s)
	}
	return *p, nil
}

// resolve asks the registry what k's tag points to now and classifies the
// pinned digest.
func (rv *Resolver) resolve(ctx context.Context, k jobKey) (outcome, error) {
	var out outcome
	tag, err := name.NewTag(k.tag)
	if err != nil {
		return out, err
	}
	pl, err := v1.ParsePlatform(k.platform)
	if err != nil {
		return out, err
	}
	desc, err := rv.get(ctx, tag)
	if err != nil {
		return out, fmt.Errorf("resolving %q: %w", k.tag, err)
	}
	out.current = desc.Digest.String()
	image := out.current // the platform's image manifest
	if desc.MediaType.IsIndex() {
		d, err := platformChild(desc.Manifest, *pl)
		if err != nil {
			return out, fmt.Errorf("resolving %q: %w", k.tag, err)
		}
		out.currentPlatform = d
		image = d
	}
	switch k.pinned {
	case "":
		return out, nil
	case out.current:
		out.match = MatchManifest
		if desc.MediaType.IsIndex() {
			out.match = MatchIndex
		}
		return out, nil
	case out.currentPlatform:
		out.match = MatchPlatform
		return out, nil
	}
	// The pin is neither: it may be an earlier index whose manifest for
	// this platform is still the current one (in the current index, or
	// now the tag's single manifest).
	if old, err := rv.get(ctx, tag.Context().Digest(k.pinned)); err == nil && old.MediaType.IsIndex() {
		if d, err := platformChild(old.Manifest, *pl); err == nil && d == image {
			out.match = MatchIndexMoved
			return out, nil
		}
	}
	out.stale = true
	out.created = rv.created(ctx, tag.Context().Digest(image))
	return out, nil
}

// platformChild returns the digest of the manifest for pl in an index.
func platformChild(manifest []byte, pl v1.Platform) (string, error) {
	im, err := v1.ParseIndexManifest(bytes.NewReader(manifest))
	if err != nil {
		return "", fmt.Errorf("parsing index: %w", err)
	}
	// As containerd picks: the platforms normalised, an exact match
	// first, then one that satisfies the wanted fields.
	want := normalizePlatform(pl)
	for _, m := range im.Manifests {
		if m.Platform != nil {
			if h := normalizePlatform(*m.Platform); h.OS == want.OS && h.Architecture == want.Architecture && h.Variant == want.Variant {
				return m.Digest.String(), nil
			}
		}
	}
	for _, m := range im.Manifests {
		if m.Platform != nil && normalizePlatform(*m.Platform).Satisfies(want) {
			return m.Digest.String(), nil
		}
	}
	return "", fmt.Errorf("the index has no image for %s", pl.String())
}

// normalizePlatform applies containerd's platforms.Normalize to the
// architecture and variant: "arm" without a variant is arm/v7, arm64/v8 is
// arm64, amd64/v1 is amd64 (and the usual aliases: aarch64, x86_64, ...).
func normalizePlatform(p v1.Platform) v1.Platform {
	p.OS = strings.ToLower(p.OS)
	switch a, v := strings.ToLower(p.Architecture), strings.ToLower(p.Variant); a {
	case "i386":
		p.Architecture, p.Variant = "386", ""
	case "x86_64", "x86-64", "amd64":
		p.Architecture = "amd64"
		if v == "v1" {
			p.Variant = ""
		}
	case "aarch64", "arm64":
		p.Architecture = "arm64"
		if v == "8" || v == "v8" {
			p.Variant = ""
		}
	case "armhf":
		p.Architecture, p.Variant = "arm", "v7"
	case "armel":
		p.Architecture, p.Variant = "arm", "v6"
	case "arm":
		switch v {
		case "", "7":
			p.Variant = "v7"
		case "5", "6", "8":
			p.Variant = "v" + v
		}
	}
	return p
}

// created returns the creation time in the config of the image d, or nil
// when the registry does not give it.
func (rv *Resolver) created(ctx context.Context, d name.Digest) *time.Time {
	desc, err := rv.get(ctx, d)
	if err != nil {
		return nil
	}
	img, err := desc.Image()
	if err != nil {
		return nil
	}
	cf, err := img.ConfigFile()
	if err != nil || cf.Created.IsZero() {
		return nil
	}
	t := cf.Created.UTC()
	return &t
}
