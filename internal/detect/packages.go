package detect

import (
	"cmp"
	"context"
	"slices"

	"github.com/imgver/imgver/internal/packages"
)

// packageChanges lists the packages that differ between the merged file
// systems ta of pa and tb of pb, whose layers are in the cache.
func (c *Comparer) packageChanges(ctx context.Context, pa, pb *platformImage, ta, tb *fsTree) ([]packages.Change, error) {
	a, err := c.installed(ctx, pa, ta)
	if err != nil {
		return nil, err
	}
	b, err := c.installed(ctx, pb, tb)
	if err != nil {
		return nil, err
	}
	return packages.Diff(a, b), nil
}

// installed returns the packages of the merged file system t of pi: those
// of each package database the layers captured that t still holds as the
// layer wrote it (not removed by a whiteout nor replaced by an upper layer),
// noise left out.
func (c *Comparer) installed(ctx context.Context, pi *platformImage, t *fsTree) ([]packages.Package, error) {
	var out []packages.Package
	for i := range pi.diffIDs {
		s, err := c.layer(ctx, pi, i)
		if err != nil {
			return nil, err
		}
		for p, ps := range s.packages {
			if e, ok := t.byPath[p]; ok && e.Type == TypeFile && e.srcLayer == i && e.srcPath == p && e.IgnoredBy == "" {
				out = append(out, ps...)
			}
		}
	}
	return out, nil
}

// mergePackages lists the package changes of all platforms, each once.
func mergePackages(prs []*PlatformResult) []packages.Change {
	out := []packages.Change{}
	for _, pr := range prs {
		out = append(out, pr.Packages...)
	}
	slices.SortStableFunc(out, func(x, y packages.Change) int {
		return cmp.Or(packages.CompareChanges(x, y), cmp.Compare(x.Change, y.Change), cmp.Compare(x.Before, y.Before), cmp.Compare(x.After, y.After))
	})
	return slices.Compact(out)
}
