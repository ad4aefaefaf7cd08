package release

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/pinfile"
)

// Tagging is one registry tag a release with --retag gives: the image
// published under the short SHA also gets the release tag.
type Tagging struct {
	Name   string `json:"name"`
	Source string `json:"source"` // <repository>:<short sha>
	Target string `json:"target"` // <repository>:<version>
	Digest string `json:"digest"`
	// Existed is set when Target already pointed at Digest.
	Existed bool `json:"existed"`
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
	Force  bool   // move a release tag that points elsewhere
	DryRun bool   // resolve and check, tag and write nothing
	Now    time.Time
	Remote []remote.Option
}

// ReleaseRetag is Release with registry tags: for each image it pins, the
// manifest published as <repository>:<short sha> is tagged
// <repository>:<version> by manifest, without pulling a layer. Every source is
// resolved and every target checked before anything is tagged, and the pin
// file is written only after every tag is in place, so a failed run changes no
// file and can simply be run again.
func ReleaseRetag(ctx context.Context, cfg *config.Config, version string, o RetagOptions) ([]Status, []Tagging, error) {
	if err := ValidateVersion(cfg, version, false); err != nil {
		return nil, nil, err
	}
	short, err := ShortSHA(cfg, o.Commit)
	if err != nil {
		return nil, nil, err
	}
	opts := append([]remote.Option{remote.WithContext(ctx)}, o.Remote...)
	var pinned []Status
	var tags []Tagging
	err = update(ctx, cfg, func(f *pinfile.File) (bool, error) {
		pinned, tags = nil, nil
		var pins []pinfile.Pin
		type planned struct {
			t    Tagging
			desc *remote.Descriptor
			dst  name.Tag
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
			dst, err := name.NewTag(im.Repository + ":" + version)
			if err != nil {
				return false, fmt.Errorf("image %s: %w", im.Name, err)
			}
			desc, err := remote.Get(src, opts...)
			if err != nil {
				return false, fmt.Errorf("resolving %s (image %s, published under the short SHA?): %w", src, im.Name, err)
			}
			t := Tagging{Name: im.Name, Source: src.String(), Target: dst.String(), Digest: desc.Digest.String()}
			has, err := headDigest(dst, opts)
			if err != nil {
				return false, fmt.Errorf("checking %s: %w", dst, err)
			}
			if has != nil {
				if *has != desc.Digest && !o.Force {
					return false, &TagConflictError{Target: dst.String(), Has: has.String(), Want: desc.Digest.String()}
				}
				t.Existed = *has == desc.Digest
			}
			plan = append(plan, planned{t, desc, dst})
			pins = append(pins, pinfile.Pin{Var: im.Var, Version: version, Kind: pinfile.Auto})
			pinned = append(pinned, Status{Name: im.Name, Var: im.Var, State: Pinned, Version: version, Repository: im.Repository})
		}
		for _, p := range plan {
			tags = append(tags, p.t)
			if o.DryRun || p.t.Existed {
				continue
			}
			if err := remote.Tag(p.dst, p.desc, opts...); err != nil {
				return false, fmt.Errorf("tagging %s as %s: %w", p.t.Source, p.t.Target, err)
			}
		}
		if err := f.AddBlock(pinfile.Header(o.Now, version), pins); err != nil {
			return false, err
		}
		return !o.DryRun && len(pins) > 0, nil
	})
	return pinned, tags, err
}

// headDigest returns the digest ref points at, or nil when it does not exist.
func headDigest(ref name.Reference, opts []remote.Option) (*v1.Hash, error) {
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
