package flow

import (
	"context"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imgver/imgver/internal/base"
	"github.com/imgver/imgver/internal/detect"
	"github.com/imgver/imgver/internal/packages"
)

// explainStale gives each pinned-stale result of reps the packages the
// upstream rebuild changed: those that differ between the image pinned and
// the one the tag points to now, read from the two base images' package
// databases only (detect.Comparer.Packages), each pair of images once. A
// base whose packages cannot be read gets a "packages" warning; it never
// changes the status.
func explainStale(ctx context.Context, reps []base.Report, o BasesOptions) error {
	var c *detect.Comparer
	type pair struct{ pinned, current, platform string }
	seen := map[pair][]packages.Change{}
	for i := range reps {
		for j := range reps[i].Results {
			r := &reps[i].Results[j]
			if r.Status != base.StatusPinnedStale || r.Pinned == "" || r.Current == "" {
				continue
			}
			ref := r.Resolved
			if ref == "" {
				ref = r.Ref
			}
			parsed, err := name.ParseReference(ref)
			if err != nil {
				continue // a stale result was resolved: cannot happen
			}
			repo := parsed.Context().Name()
			k := pair{repo + "@" + r.Pinned, repo + "@" + r.Current, r.Platform}
			cs, ok := seen[k]
			if !ok {
				if c == nil {
					if c, err = detect.New(detect.WithRemoteOptions(o.Remote...)); err != nil {
						return err
					}
				}
				pc, err := c.With(detect.WithPlatform(r.Platform))
				if err != nil {
					return err
				}
				if cs, err = pc.Packages(ctx, k.pinned, k.current); err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					r.Warnings = append(r.Warnings, base.Warning{Kind: "packages", Message: "reading the packages of the rebuild: " + err.Error()})
					continue
				}
				seen[k] = cs
			}
			r.Packages = cs
		}
	}
	return nil
}
