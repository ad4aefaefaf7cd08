package release

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imgver/imgver/internal/base"
	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/detect"
	"github.com/imgver/imgver/internal/userfile"
)

// Snapshotter represents the subset of a detect.Comparer that BaseLayers
// uses: it reads the layers of an image (from the Comparer's cache, after a
// Diff of that image).
type Snapshotter interface {
	Snapshot(ctx context.Context, ref string) ([]*detect.Snapshot, error)
}

var _ Snapshotter = (*detect.Comparer)(nil)

// BaseLayers tells how many of the bottom layers of a baseline and of its
// candidate come from their base image, for DetectOptions.BaseLayers.
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
type BaseLayers struct {
	// Snapshotter returns the comparer that read im's images.
	Snapshotter func(im *config.Image) (Snapshotter, error)
	// Remote are the options base images are read from their registry with.
	Remote []remote.Option
}

// Count returns how many bottom layers of the platform's image in baseline
// and in candidate come from the base image of im. It is an error when the
// candidate's bottom layers are not the base image's.
func (b *BaseLayers) Count(ctx context.Context, im *config.Image, platform, baseline, candidate string) (inBaseline, inCandidate int, err error) {
	ref, err := FinalBase(im)
	if err != nil {
		return 0, 0, err
	}
	s, err := b.Snapshotter(im)
	if err != nil {
		return 0, 0, err
	}
	la, err := diffIDs(ctx, s, baseline, platform)
	if err != nil {
		return 0, 0, err
	}
	lb, err := diffIDs(ctx, s, candidate, platform)
	if err != nil {
		return 0, 0, err
	}
	var baseIDs []string
	if ref != "" {
		if baseIDs, err = b.baseDiffIDs(ctx, ref, platform); err != nil {
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

// FinalBase returns the external image the final stage of im's Dockerfile
// is built from, following stage aliases; "" for scratch.
func FinalBase(im *config.Image) (string, error) {
	if im.Dockerfile == "" {
		return "", fmt.Errorf("image %s: %w", im.Name, base.ErrNoDockerfile)
	}
	data, err := userfile.ReadFile(im.Dockerfile)
	if err != nil {
		return "", fmt.Errorf("reading Dockerfile of %q: %w", im.Name, err)
	}
	df, err := base.Parse(data)
	if err != nil {
		return "", fmt.Errorf("parsing %s of %q: %w", im.Dockerfile, im.Name, err)
	}
	if len(df.Froms) == 0 {
		return "", fmt.Errorf("%s: no FROM", im.Dockerfile)
	}
	i := len(df.Froms) - 1
	for range df.Froms {
		f := df.Froms[i]
		switch f.Kind {
		case base.KindScratch:
			return "", nil
		case base.KindImage:
			if len(f.Unset) > 0 {
				return "", fmt.Errorf("%s:%d: ARG %s has no default", im.Dockerfile, f.Line, strings.Join(f.Unset, ", "))
			}
			return f.Ref, nil
		}
		// A stage: the last one before i of that name.
		j := i - 1
		for ; j >= 0 && df.Froms[j].Stage != strings.ToLower(f.Ref); j-- {
		}
		if j < 0 {
			return "", fmt.Errorf("%s:%d: no stage %q before it", im.Dockerfile, f.Line, f.Ref)
		}
		i = j
	}
	return "", fmt.Errorf("%s: stage aliases loop", im.Dockerfile)
}

// diffIDs returns the layers of the platform's image of ref, bottom first.
func diffIDs(ctx context.Context, s Snapshotter, ref, platform string) ([]string, error) {
	snaps, err := s.Snapshot(ctx, ref)
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

// baseDiffIDs returns the layers of the platform's image of the base image
// ref in its registry, bottom first, from its config: no layer is read.
func (b *BaseLayers) baseDiffIDs(ctx context.Context, ref, platform string) ([]string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("parsing base %q: %w", ref, err)
	}
	pl, err := v1.ParsePlatform(platform)
	if err != nil {
		return nil, fmt.Errorf("parsing platform %q: %w", platform, err)
	}
	opts := append([]remote.Option{remote.WithContext(ctx), remote.WithPlatform(*pl)}, b.Remote...)
	desc, err := remote.Get(r, opts...)
	if err != nil {
		return nil, fmt.Errorf("reading base %q: %w", ref, err)
	}
	img, err := desc.Image() // of an index: the child for pl (remote.WithPlatform)
	if err != nil {
		return nil, fmt.Errorf("reading base %q for %s: %w", ref, platform, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading config of base %q: %w", ref, err)
	}
	if cf.OS != "" && (cf.OS != pl.OS || cf.Architecture != pl.Architecture) {
		return nil, fmt.Errorf("base %q is for %s/%s, not %s", ref, cf.OS, cf.Architecture, platform)
	}
	out := make([]string, len(cf.RootFS.DiffIDs))
	for i, d := range cf.RootFS.DiffIDs {
		out[i] = d.String()
	}
	return out, nil
}
