package detect

import (
	"context"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// commonBase returns how many layers, from the bottom, a and b share.
func commonBase(a, b []v1.Hash) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// overlay is what the layers above a shared base do: the entries they leave
// and the removals (whiteouts, opaque dirs) they make, in effect order.
type overlay struct {
	entries map[string]*Entry
	// removals are whiteout paths and opaque dirs ("DIR/") that act on the
	// base, in order; a later re-add does not cancel one.
	removals []string
}

// upperOverlay applies layers base..end of pi onto nothing.
func (c *Comparer) upperOverlay(ctx context.Context, pi *platformImage, base int) (*overlay, error) {
	t := newTree()
	o := &overlay{}
	for i := base; i < len(pi.diffIDs); i++ {
		s, err := c.layer(ctx, pi, i)
		if err != nil {
			return nil, err
		}
		o.removals = append(o.removals, s.whiteouts...)
		for _, d := range s.opaques {
			o.removals = append(o.removals, d+"/")
		}
		t.apply(i, s)
	}
	t.resolveGroups()
	o.entries = t.entries
	return o, nil
}

// symmetricUppers reports whether the layers above the shared base of pa
// and pb leave the same file system whatever the base holds, noise paths
// aside; ignored counts the noise paths they differ in. Only path rules
// count here: the pycache rule and implicit dirs depend on the base, so a
// difference in such a path means the base must be read.
func (c *Comparer) symmetricUppers(ctx context.Context, pa, pb *platformImage, base int) (ok bool, ignored IgnoredSummary, err error) {
	oa, err := c.upperOverlay(ctx, pa, base)
	if err != nil {
		return false, ignored, err
	}
	ob, err := c.upperOverlay(ctx, pb, base)
	if err != nil {
		return false, ignored, err
	}
	if !slices.Equal(oa.removals, ob.removals) {
		return false, ignored, nil
	}
	count := func(p string) bool {
		rule := c.match.match(p)
		if rule == "" {
			return false
		}
		ignored.Paths++
		if ignored.Rules == nil {
			ignored.Rules = map[string]int{}
		}
		ignored.Rules[rule]++
		return true
	}
	for p, ea := range oa.entries {
		eb, ok := ob.entries[p]
		if ok && ea.Type != typeHardlink && eb.Type != typeHardlink && len(compareEntries(ea, eb)) == 0 {
			continue
		}
		if ok && ea.Type == typeHardlink && eb.Type == typeHardlink && ea.Link == eb.Link {
			continue
		}
		if !count(p) {
			return false, IgnoredSummary{}, nil
		}
	}
	for p := range ob.entries {
		if _, ok := oa.entries[p]; !ok && !count(p) {
			return false, IgnoredSummary{}, nil
		}
	}
	return true, ignored, nil
}
