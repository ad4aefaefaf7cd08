package flow

import (
	"context"
	"fmt"
	"slices"

	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/detect"
)

// cause tells why res changed, or "" when it cannot be told: "config" when
// only the runtime config differs, "base" when only files written by the
// base image's layers differ (on both sides), "app" when a file written by
// an image's own layers differs. Files of the base and a config change
// together, a platform on one side only, or base layers that cannot be
// counted leave it untold.
func (r *run) cause(ctx context.Context, rd *reader, im *config.Image, res *detect.Result) Cause {
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
	for _, p := range res.Platforms {
		if len(p.Added)+len(p.Removed)+len(p.Modified) == 0 {
			continue
		}
		na, nb, err := r.baseLayers(ctx, rd, im, p.Platform, res.A, res.B)
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

// baseLayers returns how many of the bottom layers of the platform's image
// in baseline and in candidate come from the base image of im. It is an
// error when the candidate's bottom layers are not the base image's.
//
// The base image is the external image the final stage of the image's
// Dockerfile is built FROM, following stage aliases (FROM build AS runtime,
// FROM runtime); scratch has no layers. Its layer count, for the candidate's
// platform, is read from the registry as the Dockerfile names it now: the
// candidate was just built from it. The baseline was built from the same
// Dockerfile, so it has as many layers of its own as the candidate; the rest
// are its base's. The candidate's bottom layers must be the base's (its
// diff_ids, from the base's config), else nothing is told:
//
//	base(baseline) = layers(baseline) - (layers(candidate) - base(candidate))
//
// The Dockerfile and the base's tag are those the staleness check of the run
// reads too (one base.Resolver per run).
func (r *run) baseLayers(ctx context.Context, rd *reader, im *config.Image, platform, baseline, candidate string) (inBaseline, inCandidate int, err error) {
	ref, err := r.bases.FinalBase(im)
	if err != nil {
		return 0, 0, err
	}
	la, err := diffIDs(ctx, rd, baseline, platform)
	if err != nil {
		return 0, 0, err
	}
	lb, err := diffIDs(ctx, rd, candidate, platform)
	if err != nil {
		return 0, 0, err
	}
	var baseIDs []string
	if ref != "" {
		if baseIDs, err = r.bases.DiffIDs(ctx, ref, platform); err != nil {
			return 0, 0, err
		}
	}
	// The candidate was just built from the base: its bottom layers are the
	// base's. If not (the tag moved since, or the Dockerfile does not say
	// how the image is built), no count can be trusted.
	nb := len(baseIDs)
	if nb > len(lb) || !slices.Equal(baseIDs, lb[:nb]) {
		return 0, 0, fmt.Errorf("image %s: candidate %s is not built on the base %s as the registry has it now", im.Name, candidate, ref)
	}
	na := len(la) - (len(lb) - nb)
	if na < 0 {
		return 0, 0, fmt.Errorf("image %s: baseline %s has %d layers, fewer than the %d of its own the candidate has", im.Name, baseline, len(la), len(lb)-nb)
	}
	return na, nb, nil
}

// diffIDs returns the layers of the platform's image of ref, bottom first.
func diffIDs(ctx context.Context, rd *reader, ref, platform string) ([]string, error) {
	snaps, err := rd.snapshot(ctx, ref)
	if err != nil {
		return nil, err
	}
	for _, sn := range snaps {
		if sn.Platform == platform {
			return sn.DiffIDs, nil
		}
	}
	return nil, fmt.Errorf("%s has no image for %s", ref, platform)
}
