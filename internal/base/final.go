package base

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgver/imgver/internal/config"
)

// FinalBase returns the external image the final stage of img's Dockerfile
// is built from, following stage aliases (FROM build AS runtime, FROM
// runtime); "" for scratch. The Dockerfile is the one rv parsed already, if
// it did.
func (rv *Resolver) FinalBase(img *config.Image) (string, error) {
	df, err := rv.Dockerfile(img)
	if err != nil {
		return "", err
	}
	if len(df.Froms) == 0 {
		return "", fmt.Errorf("%s: no FROM", img.Dockerfile)
	}
	i := len(df.Froms) - 1
	for range df.Froms {
		f := df.Froms[i]
		switch f.Kind {
		case KindScratch:
			return "", nil
		case KindImage:
			if len(f.Unset) > 0 {
				return "", fmt.Errorf("%s:%d: ARG %s has no default", img.Dockerfile, f.Line, strings.Join(f.Unset, ", "))
			}
			return f.Ref, nil
		}
		// A stage: the last one before i of that name.
		j := i - 1
		for ; j >= 0 && df.Froms[j].Stage != strings.ToLower(f.Ref); j-- {
		}
		if j < 0 {
			return "", fmt.Errorf("%s:%d: no stage %q before it", img.Dockerfile, f.Line, f.Ref)
		}
		i = j
	}
	return "", fmt.Errorf("%s: stage aliases loop", img.Dockerfile)
}

// DiffIDs returns the layers of the platform's image of the base image ref
// in its registry, bottom first, from its config: no layer is read. The tag
// is the one rv resolved already, if it did.
func (rv *Resolver) DiffIDs(ctx context.Context, ref, platform string) ([]string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("parsing base %q: %w", ref, err)
	}
	pl, err := v1.ParsePlatform(platform)
	if err != nil {
		return nil, fmt.Errorf("parsing platform %q: %w", platform, err)
	}
	desc, err := rv.get(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("reading base %q: %w", ref, err)
	}
	if desc.MediaType.IsIndex() {
		d, err := platformChild(desc.Manifest, *pl)
		if err != nil {
			return nil, fmt.Errorf("reading base %q: %w", ref, err)
		}
		if desc, err = rv.get(ctx, r.Context().Digest(d)); err != nil {
			return nil, fmt.Errorf("reading base %q for %s: %w", ref, platform, err)
		}
	}
	img, err := desc.Image()
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
