package detect

import (
	"context"
)

// Snapshot is the normalised content of one platform image: what imgver
// compares, for checks that look at one image alone.
type Snapshot struct {
	Ref      string `json:"ref"`
	Platform string `json:"platform"`
	// Digest is the manifest digest, when known without computing it.
	Digest string `json:"digest,omitempty"`
	// DiffIDs are the layers, bottom first.
	DiffIDs []string `json:"diff_ids"`
	// Files is the merged file system sorted by path, noise included
	// (Entry.IgnoredBy names its rule).
	Files []*Entry `json:"files"`
	// Config is the normalised runtime config.
	Config Config `json:"config"`
	// History holds the created_by line of each history entry.
	History []string `json:"history,omitempty"`
	// Source says where the layers came from, as PlatformResult.SourceA;
	// Warnings why a summary was not used.
	Source   string   `json:"source,omitempty"`
	Warnings []string `json:"warnings,omitempty"`

	c      *Comparer
	pi     *platformImage
	byPath map[string]*Entry
}

// Snapshot reads the image ref and returns, per platform (sorted by key,
// or the one WithPlatform chose), its merged, normalised file system and
// runtime config.
func (c *Comparer) Snapshot(ctx context.Context, ref string) ([]*Snapshot, error) {
	all, err := c.openImages(ctx, ref, true)
	if err != nil {
		return nil, err
	}
	var out []*Snapshot
	for _, pi := range all {
		t, err := c.tree(ctx, pi)
		if err != nil {
			return nil, err
		}
		s := &Snapshot{
			Ref:      ref,
			Platform: pi.platform,
			Digest:   digestString(pi),
			Files:    t.entries,
			Config:   normaliseConfig(pi.cfg, c.o.ignoredLabels),
			History:  createdBy(pi.cfg),
			c:        c,
			pi:       pi,
			byPath:   t.byPath,
		}
		for _, d := range pi.diffIDs {
			s.DiffIDs = append(s.DiffIDs, d.String())
		}
		s.Source, s.Warnings = pi.source(), pi.takeWarnings()
		out = append(out, s)
	}
	return out, nil
}

// openImages opens ref and reads the layers of its platform images (the
// one WithPlatform chose), which it returns sorted by platform; find: the
// SummaryFinder may serve them.
func (c *Comparer) openImages(ctx context.Context, ref string, find bool) ([]*platformImage, error) {
	src, err := c.open(ctx, ref)
	if err != nil {
		return nil, err
	}
	src.noFinder = !find
	imgs, err := src.images(c.o.platform)
	if err != nil {
		return nil, err
	}
	var all []*platformImage
	for _, k := range sortedPlatforms(imgs) {
		all = append(all, imgs[k])
	}
	if err := c.readLayers(ctx, all...); err != nil {
		return nil, err
	}
	return all, nil
}
