package detect

import (
	"path"
	"slices"
	"sort"
)

// tree is a file system being built by applying layers in order.
type tree struct {
	entries map[string]*Entry
	// children lists the paths directly below a dir (those put while
	// absent; removals take them out again).
	children map[string][]string
	// group maps hard-linked paths to their link group.
	group     map[string]int
	nextGroup int
	// deleted maps a path removed by a whiteout, an opaque dir or a
	// replaced dir to the index of the layer that removed it.
	deleted map[string]int
}

func newTree() *tree {
	return &tree{
		entries:  map[string]*Entry{},
		children: map[string][]string{},
		group:    map[string]int{},
		deleted:  map[string]int{},
	}
}

// apply applies layer index i: first its whiteouts and opaque dirs, which
// only act on lower layers, then its entries in tar order.
func (t *tree) apply(i int, s *layerSummary) {
	for _, p := range s.whiteouts {
		t.remove(p, i)
	}
	for _, d := range s.opaques {
		t.removeChildren(d, i)
	}
	// Copy: summaries are shared through the cache. One allocation for
	// the layer's entries.
	es := append([]Entry(nil), s.entries...)
	for k := range es {
		e := &es[k]
		e.Layer = i
		e.srcLayer = i
		t.put(e, i)
	}
}

func (t *tree) put(e *Entry, layer int) {
	if e.Type == typeHardlink {
		target, ok := t.entries[e.Link]
		if ok && target.Type != TypeDir {
			g, ok := t.group[target.Path]
			if !ok {
				g = t.nextGroup
				t.nextGroup++
				t.group[target.Path] = g
			}
			ne := *target
			ne.Path = e.Path
			ne.Layer = layer
			ne.Hardlink = ""
			t.putEntry(&ne, layer)
			t.group[e.Path] = g
			return
		}
		// A dangling hard link: keep it as such, it will show.
	}
	t.putEntry(e, layer)
}

func (t *tree) putEntry(e *Entry, layer int) {
	if e.Type != TypeDir {
		// Also where the dir had no entry of its own, only children.
		t.removeChildren(e.Path, layer)
	}
	if len(t.group) > 0 {
		delete(t.group, e.Path)
	}
	if len(t.deleted) > 0 {
		delete(t.deleted, e.Path)
	}
	_, existed := t.entries[e.Path]
	t.entries[e.Path] = e
	// A path with children of its own is already linked to its parent.
	if _, linked := t.children[e.Path]; !existed && !linked && e.Path != "/" {
		t.link(e.Path)
	}
}

// link lists p among its parent's children and, where the parent has no
// entry (an implicit directory), the parent among its own parent's, so
// that removing an ancestor reaches p.
func (t *tree) link(p string) {
	for p != "/" {
		parent := parentDir(p)
		_, linked := t.children[parent]
		t.children[parent] = append(t.children[parent], p)
		if _, ok := t.entries[parent]; linked || ok {
			return
		}
		p = parent
	}
}

func (t *tree) remove(p string, layer int) {
	t.removeChildren(p, layer)
	t.drop(p, layer)
	parent := path.Dir(p)
	if c := t.children[parent]; c != nil {
		if i := slices.Index(c, p); i >= 0 {
			t.children[parent] = slices.Delete(c, i, i+1)
		}
	}
}

func (t *tree) removeChildren(p string, layer int) {
	c := t.children[p]
	delete(t.children, p)
	for _, child := range c {
		t.removeChildren(child, layer)
		t.drop(child, layer)
	}
}

// drop forgets the entry at p, if any, and records that layer deleted it.
func (t *tree) drop(p string, layer int) {
	if _, ok := t.entries[p]; ok {
		delete(t.entries, p)
		delete(t.group, p)
		t.deleted[p] = layer
	}
}

// finish adds implicit parent directories, resolves hard-link groups and
// returns the entries sorted by path.
func (t *tree) finish() []*Entry {
	for p := range t.entries {
		// A dir already there has, or will have once the loop reaches
		// it, its own parents: the walk stops there, so that the work is
		// linear in the number of paths, not in the sum of their depths.
		for d := parentDir(p); ; d = parentDir(d) {
			if pe, ok := t.entries[d]; ok && pe.Type == TypeDir {
				break
			}
			t.entries[d] = &Entry{Path: d, Type: TypeDir, Mode: 0o755, Layer: -1, srcLayer: -1, Implicit: true}
			if d == "/" {
				break
			}
		}
	}
	if _, ok := t.entries["/"]; !ok {
		t.entries["/"] = &Entry{Path: "/", Type: TypeDir, Mode: 0o755, Layer: -1, srcLayer: -1, Implicit: true}
	}
	t.resolveGroups()
	out := make([]*Entry, 0, len(t.entries))
	for _, e := range t.entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// resolveGroups sets Hardlink on every member of a hard-link group but the
// first in byte order.
func (t *tree) resolveGroups() {
	groups := map[int][]string{}
	for p, g := range t.group {
		groups[g] = append(groups[g], p)
	}
	for _, members := range groups {
		if len(members) < 2 {
			continue
		}
		sort.Strings(members)
		for _, m := range members[1:] {
			t.entries[m].Hardlink = members[0]
		}
	}
}
