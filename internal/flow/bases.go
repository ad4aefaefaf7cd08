package flow

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imgver/imgver/internal/base"
	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/release"
)

// BasesOptions are the knobs of ResolveBases and UpdateBases.
type BasesOptions struct {
	// Names are the images to look at; none means all.
	Names []string
	// Platform is the platform the images are built for, for FROMs without
	// --platform (default base.DefaultPlatform).
	Platform string
	// Remote are the options registries are read with.
	Remote []remote.Option
	// DryRun writes nothing (UpdateBases).
	DryRun bool
	// Unpin also unpins the automatically pinned images whose base is
	// pinned-stale, so that they are rebuilt (UpdateBases).
	Unpin bool
}

// BasesUpdate is the outcome of UpdateBases.
type BasesUpdate struct {
	// Plan holds the results and the Dockerfiles changed (or, with DryRun,
	// to be changed).
	Plan *base.Plan
	// Unpinned is, with Unpin, what happened to each automatically pinned
	// image whose base was stale: unpinned, or with DryRun to be unpinned
	// (then Before and After are equal).
	Unpinned []release.Change
	// ManualLeft names the images whose base is stale but whose pin is
	// manual: left pinned.
	ManualLeft []string
}

// ResolveBases resolves the bases of the named images (imgver base check),
// and explains each pinned-stale one by the packages the upstream rebuild
// changed.
func ResolveBases(ctx context.Context, cfg *config.Config, o BasesOptions) ([]base.Report, error) {
	rv, imgs, err := basesOf(cfg, o)
	if err != nil {
		return nil, err
	}
	reps, err := rv.Resolve(ctx, imgs)
	if err != nil {
		return reps, err
	}
	return reps, explainStale(ctx, reps, o)
}

// UpdateBases pins the bases of the named images to their current digests
// (imgver base update): every reference is resolved before anything is
// written, and every Dockerfile is written or none. With Unpin, the
// automatically pinned images whose base was stale are unpinned too, under
// the pin file's lock, the Dockerfiles written before the pin file: if they
// cannot be written, neither is the pin file. When a reference cannot be
// resolved, the update (for its Plan's reports) and a *base.UnresolvedError
// are returned, and nothing is written.
func UpdateBases(ctx context.Context, cfg *config.Config, o BasesOptions) (*BasesUpdate, error) {
	rv, imgs, err := basesOf(cfg, o)
	if err != nil {
		return nil, err
	}
	plan, err := rv.Update(ctx, imgs)
	var ue *base.UnresolvedError
	if errors.As(err, &ue) {
		return &BasesUpdate{Plan: plan}, err
	}
	if err != nil {
		return nil, err
	}
	up := &BasesUpdate{Plan: plan}
	var auto []string
	if o.Unpin {
		stale := base.ImagesWith(plan.Reports, base.StatusPinnedStale)
		if len(stale) > 0 {
			f, err := release.Load(cfg)
			if err != nil {
				return nil, err
			}
			for _, s := range release.Statuses(cfg, f) {
				if !slices.Contains(stale, s.Name) {
					continue
				}
				switch s.State {
				case release.Pinned:
					auto = append(auto, s.Name)
					up.Unpinned = append(up.Unpinned, release.Change{Name: s.Name, Before: s, After: s})
				case release.Manual:
					up.ManualLeft = append(up.ManualLeft, s.Name)
				}
			}
		}
	}
	switch {
	case o.DryRun:
	case len(auto) > 0:
		if up.Unpinned, err = release.UnpinThen(ctx, cfg, auto, plan.Write); err != nil {
			return nil, err
		}
	default:
		if err := plan.Write(); err != nil {
			return nil, err
		}
	}
	return up, nil
}

// basesOf returns a Resolver and the named images of cfg (all when none is
// named).
func basesOf(cfg *config.Config, o BasesOptions) (*base.Resolver, []*config.Image, error) {
	names := o.Names
	if len(names) == 0 {
		names = cfg.Names()
	}
	imgs, err := cfg.Lookup(names...)
	if err != nil {
		return nil, nil, err
	}
	rv, err := newResolver(o.Remote, o.Platform)
	if err != nil {
		return nil, nil, err
	}
	return rv, imgs, nil
}

// newResolver returns a base.Resolver that reads registries with ro and
// resolves a FROM without --platform for platform (default
// base.DefaultPlatform).
func newResolver(ro []remote.Option, platform string) (*base.Resolver, error) {
	p, err := remote.NewPuller(ro...)
	if err != nil {
		return nil, fmt.Errorf("making registry client: %w", err)
	}
	opts := []base.Option{base.WithPuller(p)}
	if platform != "" {
		opts = append(opts, base.WithPlatform(platform))
	}
	return base.NewResolver(opts...)
}
