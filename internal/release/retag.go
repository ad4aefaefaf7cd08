package release

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/mod/semver"

	"github.com/imgver/imgver/internal/clip"
	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/pinfile"
)

// Kinds of Tagging.
const (
	TagVersion  = "version"  // <repository>:VERSION
	TagDated    = "dated"    // <repository>:VERSION-YYYYMMDD (--dated), immutable
	TagFloating = "floating" // <repository>:vX.Y and vX (--floating), moved only forward
)

// Tagging is one registry tag a release with --retag gives: the image
// published under the short SHA also gets the release tag, and with
// --dated and --floating the dated and floating tags.
type Tagging struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Source string `json:"source"` // <repository>:<short sha>
	Target string `json:"target"` // <repository>:<tag>
	Digest string `json:"digest"`
	// Existed is set when Target already pointed at Digest.
	Existed bool `json:"existed"`
	// Kept, for a floating tag left where it is, names the higher release
	// it points at.
	Kept string `json:"kept,omitempty"`
}

// TagConflictError is a release tag that already points at another image.
type TagConflictError struct {
	Target, Has, Want string
}

func (e *TagConflictError) Error() string {
	return fmt.Sprintf("%s already points at %s, not at %s (use --force to move it)", e.Target, e.Has, e.Want)
}

// RetagOptions are the knobs of ReleaseRetag.
type RetagOptions struct {
	Commit string // full or short commit SHA the unpinned images were published under
	Force  bool   // move a release or dated tag that points elsewhere
	DryRun bool   // resolve and check, tag and write nothing
	// Floating also tags vX.Y and vX (for VERSION vX.Y.Z; any prefix, e.g.
	// release-X.Y and release-X), each only when no higher release of the
	// repository holds it; a pre-release never moves one.
	Floating bool
	// Dated also tags VERSION-YYYYMMDD (the UTC date of Now), immutable.
	Dated  bool
	Now    time.Time
	Remote []remote.Option
}

// releaseVersion is a VERSION read as [prefix]X.Y.Z[-pre].
type releaseVersion struct {
	prefix string // "v", "release-", ""
	semver string // "v" + X.Y.Z[-pre], for golang.org/x/mod/semver
}

var releaseVersionRE = regexp.MustCompile(`^([A-Za-z_.-]*?)(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$`)

// parseReleaseVersion reads v as [prefix]X.Y.Z[-pre]; ok is false for
// anything else (v1.2, a date, a floating tag).
func parseReleaseVersion(v string) (releaseVersion, bool) {
	m := releaseVersionRE.FindStringSubmatch(v)
	if m == nil || !semver.IsValid("v"+m[2]) {
		return releaseVersion{}, false
	}
	return releaseVersion{prefix: m[1], semver: "v" + m[2]}, true
}

// floating returns the floating tags of rv: prefix+X.Y and prefix+X.
func (rv releaseVersion) floating() []string {
	mm := strings.TrimPrefix(semver.MajorMinor(rv.semver), "v")
	major := strings.TrimPrefix(semver.Major(rv.semver), "v")
	return []string{rv.prefix + mm, rv.prefix + major}
}

// releaseTag is one tag to make for one image.
type releaseTag struct {
	t   Tagging
	dst name.Tag
}

// ReleaseRetag is Release with registry tags: for each image it pins, the
// manifest published as <repository>:<short sha> is tagged
// <repository>:<version> by manifest, without pulling a layer (and the dated
// and floating tags, see RetagOptions). Every source is resolved and every
// target checked before anything is tagged, and the pin file is written
// only after every tag is in place, so a failed run changes no file and can
// simply be run again.
func ReleaseRetag(ctx context.Context, cfg *config.Config, version string, o RetagOptions) ([]Status, []Tagging, error) {
	if err := ValidateVersion(cfg, version, false); err != nil {
		return nil, nil, err
	}
	short, err := ShortSHA(cfg, o.Commit)
	if err != nil {
		return nil, nil, err
	}
	rv, semverOK := parseReleaseVersion(version)
	if o.Floating && !semverOK {
		return nil, nil, fmt.Errorf("--floating needs a VERSION of the form [prefix]X.Y.Z[-pre.release], not %s", clip.Quote(version))
	}
	extra := map[string][]string{}
	if o.Dated {
		dated := version + "-" + o.Now.UTC().Format("20060102")
		if !pinfile.ValidVersion(dated) {
			return nil, nil, fmt.Errorf("dated tag %q is not a valid image tag", dated)
		}
		extra[TagDated] = []string{dated}
	}
	if o.Floating && semver.Prerelease(rv.semver) == "" {
		extra[TagFloating] = rv.floating()
	}
	opts := append([]remote.Option{remote.WithContext(ctx)}, o.Remote...)
	var pinned []Status
	var tags []Tagging
	err = update(ctx, cfg, func(f *pinfile.File) (bool, error) {
		pinned, tags = nil, nil
		var pins []pinfile.Pin
		type planned struct {
			desc *remote.Descriptor
			tags []releaseTag
		}
		var plan []planned
		for _, im := range cfg.Images {
			if _, ok := f.Lookup(im.Var); ok {
				continue
			}
			src, err := name.NewTag(im.Repository + ":" + short)
			if err != nil {
				return false, fmt.Errorf("image %s: %w", im.Name, err)
			}
			desc, err := remote.Get(src, opts...)
			if err != nil {
				return false, fmt.Errorf("resolving %s (image %s, published under the short SHA?): %w", src, im.Name, err)
			}
			p := planned{desc: desc}
			var listed []string // the repository's tags, listed once when a floating tag needs them
			for _, kt := range []struct {
				kind string
				tags []string
			}{{TagVersion, []string{version}}, {TagDated, extra[TagDated]}, {TagFloating, extra[TagFloating]}} {
				for _, tag := range kt.tags {
					dst, err := name.NewTag(im.Repository + ":" + tag)
					if err != nil {
						return false, fmt.Errorf("image %s: %w", im.Name, err)
					}
					t := Tagging{Name: im.Name, Kind: kt.kind, Source: src.String(), Target: dst.String(), Digest: desc.Digest.String()}
					has, err := HeadDigest(dst, opts)
					if err != nil {
						return false, fmt.Errorf("checking %s: %w", dst, err)
					}
					switch {
					case has == nil:
					case *has == desc.Digest:
						t.Existed = true
					case kt.kind == TagFloating:
						if listed == nil {
							if listed, err = remote.List(dst.Context(), opts...); err != nil {
								return false, fmt.Errorf("listing the tags of %s: %w", dst.Context(), err)
							}
						}
						if t.Kept, err = higherRelease(dst, *has, rv, listed, opts); err != nil {
							return false, err
						}
					case !o.Force:
						return false, &TagConflictError{Target: dst.String(), Has: has.String(), Want: desc.Digest.String()}
					}
					p.tags = append(p.tags, releaseTag{t, dst})
				}
			}
			plan = append(plan, p)
			pins = append(pins, pinfile.Pin{Var: im.Var, Version: version, Kind: pinfile.Auto})
			pinned = append(pinned, Status{Name: im.Name, Var: im.Var, State: Pinned, Version: version, Repository: im.Repository})
		}
		for _, p := range plan {
			for _, rt := range p.tags {
				tags = append(tags, rt.t)
				if o.DryRun || rt.t.Existed || rt.t.Kept != "" {
					continue
				}
				if err := remote.Tag(rt.dst, p.desc, opts...); err != nil {
					return false, fmt.Errorf("tagging %s as %s: %w", rt.t.Source, rt.t.Target, err)
				}
			}
		}
		if err := f.AddBlock(pinfile.Header(o.Now, version), pins); err != nil {
			return false, err
		}
		return !o.DryRun && len(pins) > 0, nil
	})
	return pinned, tags, err
}

// higherRelease returns the highest release tag of the floating tag's line
// (same prefix and major, and minor for an X.Y tag; no pre-release) that is
// higher than rv and points at has, the floating tag's digest: then the
// floating tag stays where it is. "" means it moves forward to rv.
func higherRelease(floating name.Tag, has v1.Hash, rv releaseVersion, listed []string, opts []remote.Option) (string, error) {
	line := strings.TrimPrefix(floating.TagStr(), rv.prefix) + "."
	var higher []releaseVersion
	byVersion := map[string]string{}
	for _, tag := range listed {
		other, ok := parseReleaseVersion(tag)
		if !ok || other.prefix != rv.prefix || semver.Prerelease(other.semver) != "" ||
			!strings.HasPrefix(strings.TrimPrefix(other.semver, "v"), line) || semver.Compare(other.semver, rv.semver) <= 0 {
			continue
		}
		higher = append(higher, other)
		byVersion[other.semver] = tag
	}
	slices.SortFunc(higher, func(a, b releaseVersion) int { return semver.Compare(b.semver, a.semver) })
	for _, h := range higher {
		ref, err := name.NewTag(floating.Context().String() + ":" + byVersion[h.semver])
		if err != nil {
			return "", err
		}
		d, err := HeadDigest(ref, opts)
		if err != nil {
			return "", fmt.Errorf("checking %s: %w", ref, err)
		}
		if d != nil && *d == has {
			return byVersion[h.semver], nil
		}
	}
	return "", nil
}

// HeadDigest returns the digest ref points at in its registry, or nil when
// it does not exist there.
func HeadDigest(ref name.Reference, opts []remote.Option) (*v1.Hash, error) {
	d, err := remote.Head(ref, opts...)
	if err != nil {
		var te *transport.Error
		if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
			return nil, nil
		}
		return nil, err
	}
	return &d.Digest, nil
}
