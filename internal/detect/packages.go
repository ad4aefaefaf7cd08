package detect

import (
	"cmp"
	"context"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"

	"github.com/imgver/imgver/internal/packages"
)

// Packages lists the packages that differ between the images a and b, of
// every platform both have (paired as Diff pairs them), each change once.
// It reads the layers only for their package databases (no digests, and
// only jars and package databases are looked into; a layer the Comparer
// already read WithPackages is not read again), each layer once. Equal
// manifests or equal layers list none without reading a layer.
func (c *Comparer) Packages(ctx context.Context, a, b string) ([]packages.Change, error) {
	pairs, err := c.pairs(ctx, a, b)
	if err != nil {
		return nil, err
	}
	var todo []pair
	seen := map[v1.Hash]bool{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.o.jobs)
	for _, p := range pairs {
		if p.pa == nil || p.pb == nil || digestString(p.pa) != "" && digestString(p.pa) == digestString(p.pb) ||
			slices.Equal(p.pa.diffIDs, p.pb.diffIDs) {
			continue
		}
		todo = append(todo, p)
		for _, pi := range []*platformImage{p.pa, p.pb} {
			for i, d := range pi.diffIDs {
				if seen[d] {
					continue
				}
				seen[d] = true
				g.Go(func() error {
					_, err := c.summary(gctx, pi, i, true)
					return err
				})
			}
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var all [][]packages.Change
	for _, p := range todo {
		ta, err := c.treeOf(ctx, p.pa, true)
		if err != nil {
			return nil, err
		}
		tb, err := c.treeOf(ctx, p.pb, true)
		if err != nil {
			return nil, err
		}
		cs, err := c.packageChanges(ctx, p.pa, p.pb, ta, tb, true)
		if err != nil {
			return nil, err
		}
		all = append(all, cs)
	}
	return mergeChanges(all...), nil
}

// packageChanges lists the packages that differ between the merged file
// systems ta of pa and tb of pb, from their layers' summaries (light ones
// if light).
func (c *Comparer) packageChanges(ctx context.Context, pa, pb *platformImage, ta, tb *fsTree, light bool) ([]packages.Change, error) {
	a, err := c.installed(ctx, pa, ta, light)
	if err != nil {
		return nil, err
	}
	b, err := c.installed(ctx, pb, tb, light)
	if err != nil {
		return nil, err
	}
	return packages.Diff(a, b), nil
}

// installed returns the packages of the merged file system t of pi: those
// of each package database the layers captured that t still holds as the
// layer wrote it (not removed by a whiteout nor replaced by an upper layer),
// noise left out.
func (c *Comparer) installed(ctx context.Context, pi *platformImage, t *fsTree, light bool) ([]packages.Package, error) {
	var out []packages.Package
	for i := range pi.diffIDs {
		s, err := c.summary(ctx, pi, i, light)
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
	var all [][]packages.Change
	for _, pr := range prs {
		all = append(all, pr.Packages)
	}
	return mergeChanges(all...)
}

// mergeChanges lists the changes of several lists, each once, in Diff's
// order; an empty list, not nil, when there are none.
func mergeChanges(lists ...[]packages.Change) []packages.Change {
	out := []packages.Change{}
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.SortStableFunc(out, func(x, y packages.Change) int {
		return cmp.Or(packages.CompareChanges(x, y), cmp.Compare(x.Change, y.Change), cmp.Compare(x.Before, y.Before), cmp.Compare(x.After, y.After))
	})
	return slices.Compact(out)
}
