package detect

import (
	"context"
	"path"
	"slices"
	"strings"

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
	// nonDirs are the paths where a non-directory was put: each removes
	// what the base has below that path, even when a later layer puts a
	// directory back.
	nonDirs map[string]bool
}

// covers reports whether the removals of o or a non-directory put at an
// ancestor of p may have removed the base's entry at p before or after a
// hard link to it was made.
func (o *overlay) covers(p string) bool {
	for _, r := range o.removals {
		if r == p || strings.HasPrefix(p, r) && strings.HasSuffix(r, "/") || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	for d := path.Dir(p); d != "/"; d = path.Dir(d) {
		if o.nonDirs[d] {
			return true
		}
	}
	return false
}

// upperOverlay applies layers base..end of pi onto nothing.
func (c *Comparer) upperOverlay(ctx context.Context, pi *platformImage, base int) (*overlay, error) {
	t := newTree()
	o := &overlay{nonDirs: map[string]bool{}}
	for i := base; i < len(pi.diffIDs); i++ {
		s, err := c.layer(ctx, pi, i)
		if err != nil {
			return nil, err
		}
		o.removals = append(o.removals, s.whiteouts...)
		for _, d := range s.opaques {
			o.removals = append(o.removals, d+"/")
		}
		for k := range s.entries {
			if e := &s.entries[k]; e.Type != TypeDir {
				o.nonDirs[e.Path] = true
			}
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
	// A non-directory put on one side only removes what the base has
	// below it on that side: fine only when all of that is noise.
	for _, o := range [2][2]*overlay{{oa, ob}, {ob, oa}} {
		for p := range o[0].nonDirs {
			if !o[1].nonDirs[p] && !c.match.subtree(p) {
				return false, ignored, nil
			}
		}
	}
	// A hard link into the base copies the base file as the link finds
	// it, which depends on when removals happened; not worth following.
	for _, o := range [2]*overlay{oa, ob} {
		for _, e := range o.entries {
			if e.Type == typeHardlink && (oa.covers(e.Link) || ob.covers(e.Link)) {
				return false, ignored, nil
			}
		}
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
		// Hard links compare by target and by their own attributes, which
		// a link that finds no target keeps.
		if ok && len(compareEntries(ea, eb)) == 0 {
			continue
		}
		// A noise hard link into the base joins a base file's link
		// group, which changes that file's Hardlink.
		if ea.Type == typeHardlink || ok && eb.Type == typeHardlink || !count(p) || !ok && c.belowBase(oa, p) {
			return false, IgnoredSummary{}, nil
		}
	}
	for p, eb := range ob.entries {
		if _, ok := oa.entries[p]; !ok && (eb.Type == typeHardlink || !count(p) || c.belowBase(ob, p)) {
			return false, IgnoredSummary{}, nil
		}
	}
	return true, ignored, nil
}

// belowBase reports whether p, put by o on its side only, may lie below a
// base entry that is not a directory: an ancestor that o does not hold as a
// directory and that is not noise itself. A full read turns such an
// ancestor into an implicit directory on that side only.
func (c *Comparer) belowBase(o *overlay, p string) bool {
	for d := path.Dir(p); d != "/"; d = path.Dir(d) {
		if e, ok := o.entries[d]; ok {
			return e.Type != TypeDir
		}
		if c.match.match(d) == "" {
			return true
		}
	}
	return false
}
