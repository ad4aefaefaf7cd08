package detect

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// Diff compares the images a and b and says whether what they run differs.
// Multi-platform images are compared platform by platform.
func (c *Comparer) Diff(ctx context.Context, a, b string) (*Result, error) {
	pairs, err := c.pairs(ctx, a, b)
	if err != nil {
		return nil, err
	}

	res := &Result{SchemaVersion: SchemaVersion, A: a, B: b, Verdict: Same}
	var toRead []*platformImage
	var pending []*PlatformResult
	var pendingPairs []pair
	for _, p := range pairs {
		pr := &PlatformResult{Platform: p.key, Verdict: Same, HistoryCounts: c.o.history}
		res.Platforms = append(res.Platforms, pr)
		switch {
		case p.pa == nil:
			pr.OnlyIn, pr.Verdict = "b", Changed
			pr.DigestB = digestString(p.pb)
			continue
		case p.pb == nil:
			pr.OnlyIn, pr.Verdict = "a", Changed
			pr.DigestA = digestString(p.pa)
			continue
		}
		pr.DigestA, pr.DigestB = digestString(p.pa), digestString(p.pb)
		if pr.DigestA != "" && pr.DigestA == pr.DigestB {
			pr.Shortcut = "manifest-digest"
			continue
		}
		c.compareConfig(pr, p.pa, p.pb)
		if slices.Equal(p.pa.diffIDs, p.pb.diffIDs) {
			if !pr.configCounts() {
				pr.Shortcut = "diff-ids"
			} else {
				pr.Verdict = Changed
			}
			continue
		}
		toRead = append(toRead, p.pa, p.pb)
		pending = append(pending, pr)
		pendingPairs = append(pendingPairs, p)
	}
	// Pairs on a shared base: read the layers above it first; when they
	// do the same on both sides, the base need not be read at all.
	var uppers []span
	for _, p := range pendingPairs {
		if k := commonBase(p.pa.diffIDs, p.pb.diffIDs); k > 0 {
			uppers = append(uppers, span{p.pa, k, len(p.pa.diffIDs)}, span{p.pb, k, len(p.pb.diffIDs)})
		}
	}
	if err := c.readSpans(ctx, uppers); err != nil {
		return nil, err
	}
	full := make([]bool, len(pending))
	for i, pr := range pending {
		p := pendingPairs[i]
		full[i] = true
		if k := commonBase(p.pa.diffIDs, p.pb.diffIDs); k > 0 {
			ok, ignored, err := c.symmetricUppers(ctx, p.pa, p.pb, k)
			if err != nil {
				return nil, err
			}
			if ok {
				full[i] = false
				pr.Shortcut = "shared-base"
				pr.Ignored.Paths, pr.Ignored.Rules = ignored.Paths, ignored.Rules
			}
		}
	}
	toRead = toRead[:0]
	for i, p := range pendingPairs {
		if full[i] {
			toRead = append(toRead, p.pa, p.pb)
		}
	}
	if err := c.readLayers(ctx, toRead...); err != nil {
		return nil, err
	}
	for i, pr := range pending {
		p := pendingPairs[i]
		if full[i] {
			if err := c.compareFiles(ctx, pr, p.pa, p.pb); err != nil {
				return nil, err
			}
		}
		if pr.configCounts() || len(pr.Added)+len(pr.Removed)+len(pr.Modified) > 0 {
			pr.Verdict = Changed
		}
	}
	for i, p := range pairs {
		pr := res.Platforms[i]
		if p.pa != nil {
			pr.SourceA = p.pa.source()
			pr.Warnings = append(pr.Warnings, p.pa.takeWarnings()...)
		}
		if p.pb != nil {
			pr.SourceB = p.pb.source()
			pr.Warnings = append(pr.Warnings, p.pb.takeWarnings()...)
		}
	}
	for _, pr := range res.Platforms {
		if pr.Verdict == Changed {
			res.Verdict = Changed
		}
	}
	if c.o.packages {
		res.Packages = mergePackages(res.Platforms)
	}
	return res, nil
}

// pair is the images of one platform of a and b; pa or pb is nil when the
// platform is on one side only.
type pair struct {
	key    string
	pa, pb *platformImage
}

// pairs opens a and b and pairs their images platform by platform.
func (c *Comparer) pairs(ctx context.Context, a, b string) ([]pair, error) {
	sa, err := c.open(ctx, a)
	if err != nil {
		return nil, err
	}
	sb, err := c.open(ctx, b)
	if err != nil {
		return nil, err
	}
	ia, err := sa.images(c.o.platform)
	if err != nil {
		return nil, err
	}
	ib, err := sb.images(c.o.platform)
	if err != nil {
		return nil, err
	}
	var pairs []pair
	switch {
	case sa.img != nil && sb.img != nil:
		// Two single images are compared whatever their platforms; a
		// different os or architecture shows as a config change.
		pa, pb := ia[sortedPlatforms(ia)[0]], ib[sortedPlatforms(ib)[0]]
		pairs = append(pairs, pair{pa.platform, pa, pb})
	default:
		keys := sortedPlatforms(ia)
		for _, k := range sortedPlatforms(ib) {
			if _, ok := ia[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			pairs = append(pairs, pair{k, ia[k], ib[k]})
		}
	}
	return pairs, nil
}

// configCounts reports whether the config or (WithHistory) the history
// differs.
func (pr *PlatformResult) configCounts() bool {
	return len(pr.Config) > 0 || pr.HistoryCounts && len(pr.History) > 0
}

func digestString(pi *platformImage) string {
	if pi.digest.Hex == "" {
		return ""
	}
	return pi.digest.String()
}

// compareConfig fills pr.Config, pr.History and pr.Ignored.Labels.
func (c *Comparer) compareConfig(pr *PlatformResult, pa, pb *platformImage) {
	ca := normaliseConfig(pa.cfg, c.o.ignoredLabels)
	cb := normaliseConfig(pb.cfg, c.o.ignoredLabels)
	pr.Config = compareMaps(ca.fields(), cb.fields(), configFieldOrder)
	for _, k := range slices.Sorted(maps.Keys(union(ca.IgnoredLabels, cb.IgnoredLabels))) {
		va, oka := ca.IgnoredLabels[k]
		vb, okb := cb.IgnoredLabels[k]
		if va != vb || oka != okb {
			pr.Ignored.Labels = append(pr.Ignored.Labels, k)
		}
	}
	ha, hb := createdBy(pa.cfg), createdBy(pb.cfg)
	for i := range max(len(ha), len(hb)) {
		var a, b string
		if i < len(ha) {
			a = ha[i]
		}
		if i < len(hb) {
			b = hb[i]
		}
		if a != b || i >= len(ha) || i >= len(hb) {
			pr.History = append(pr.History, &HistoryChange{Index: i, A: a, B: b})
		}
	}
}

var configFieldOrder = []string{
	"os", "architecture", "variant", "os_version", "user", "working_dir", "env", "entrypoint", "cmd",
	"shell", "on_build", "exposed_ports", "volumes", "stop_signal", "healthcheck",
}

var entryFieldOrder = []string{"type", "mode", "uid", "gid", "size", "content", "link", "hardlink", "device"}

func union(a, b map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range a {
		m[k] = v
	}
	for k, v := range b {
		m[k] = v
	}
	return m
}

// compareMaps lists the keys whose values differ, the keys in order first,
// then the others sorted.
func compareMaps(a, b map[string]string, order []string) []*FieldChange {
	var out []*FieldChange
	seen := map[string]bool{}
	check := func(k string) {
		if seen[k] {
			return
		}
		seen[k] = true
		if a[k] != b[k] {
			out = append(out, &FieldChange{Field: k, A: a[k], B: b[k]})
		}
	}
	for _, k := range order {
		check(k)
	}
	for _, k := range slices.Sorted(maps.Keys(union(a, b))) {
		check(k)
	}
	return out
}

// attrs returns the compared attributes of e. Diff and Fingerprint both
// use it, so they agree.
func attrs(e *Entry) map[string]string {
	m := map[string]string{
		"type": string(e.Type),
		"mode": octalMode(e.Mode),
		"uid":  strconv.Itoa(e.UID),
		"gid":  strconv.Itoa(e.GID),
	}
	if e.Type == TypeFile {
		m["content"] = e.Digest
		// A normaliser's digest stands for the content; the size of the
		// raw bytes may differ with it (a gzip header's file name).
		if e.Normaliser == "" {
			m["size"] = strconv.FormatInt(e.Size, 10)
		}
	}
	if e.Link != "" {
		m["link"] = e.Link
	}
	if e.Hardlink != "" {
		m["hardlink"] = e.Hardlink
	}
	if e.Type == TypeChar || e.Type == TypeBlock {
		m["device"] = fmt.Sprintf("%d,%d", e.DevMajor, e.DevMinor)
	}
	for k, v := range e.Xattrs {
		m["xattr."+k] = v
	}
	return m
}

func compareEntries(a, b *Entry) []*FieldChange {
	if sameAttrs(a, b) {
		return nil
	}
	return compareMaps(attrs(a), attrs(b), entryFieldOrder)
}

// sameAttrs is a fast check that attrs(a) equals attrs(b).
func sameAttrs(a, b *Entry) bool {
	if a.Type != b.Type || a.Mode != b.Mode || a.UID != b.UID || a.GID != b.GID ||
		a.Link != b.Link || a.Hardlink != b.Hardlink || a.DevMajor != b.DevMajor || a.DevMinor != b.DevMinor ||
		len(a.Xattrs) != len(b.Xattrs) {
		return false
	}
	if a.Type == TypeFile && (a.Digest != b.Digest || a.Normaliser != b.Normaliser || a.Normaliser == "" && a.Size != b.Size) {
		return false
	}
	for k, v := range a.Xattrs {
		if w, ok := b.Xattrs[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// compareFiles fills the file changes of pr from the merged trees.
func (c *Comparer) compareFiles(ctx context.Context, pr *PlatformResult, pa, pb *platformImage) error {
	ta, err := c.tree(ctx, pa)
	if err != nil {
		return err
	}
	tb, err := c.tree(ctx, pb)
	if err != nil {
		return err
	}
	ignore := func(ea, eb *Entry) string {
		rule := ""
		if ea != nil {
			rule = ea.IgnoredBy
		}
		if rule == "" && eb != nil {
			rule = eb.IgnoredBy
		}
		if rule != PycacheRule {
			return rule
		}
		src := pycacheSource(pathOf(ea, eb))
		sa, sb := ta.byPath[src], tb.byPath[src]
		if sa == nil || sb == nil || sa.IgnoredBy != "" || sb.IgnoredBy != "" || len(compareEntries(sa, sb)) > 0 {
			return ""
		}
		return rule
	}
	i, j := 0, 0
	for i < len(ta.entries) || j < len(tb.entries) {
		var ea, eb *Entry
		switch {
		case j >= len(tb.entries) || i < len(ta.entries) && ta.entries[i].Path < tb.entries[j].Path:
			ea = ta.entries[i]
			i++
		case i >= len(ta.entries) || tb.entries[j].Path < ta.entries[i].Path:
			eb = tb.entries[j]
			j++
		default:
			ea, eb = ta.entries[i], tb.entries[j]
			i++
			j++
		}
		var changes []*FieldChange
		if ea != nil && eb != nil && (ea.IgnoredBy == "") != (eb.IgnoredBy == "") &&
			ea.IgnoredBy != PycacheRule && eb.IgnoredBy != PycacheRule {
			// Noise on one side only (an implicit directory holding only
			// noise there): the fingerprint has it on the other side
			// alone, so it is added or removed.
			if ea.IgnoredBy != "" {
				ea = nil
			} else {
				eb = nil
			}
		} else if ea != nil && eb != nil {
			if changes = compareEntries(ea, eb); len(changes) == 0 {
				continue
			}
		}
		if rule := ignore(ea, eb); rule != "" {
			pr.Ignored.Paths++
			if pr.Ignored.Rules == nil {
				pr.Ignored.Rules = map[string]int{}
			}
			pr.Ignored.Rules[rule]++
			continue
		}
		p := pathOf(ea, eb)
		fc := &FileChange{Path: p, A: ea, B: eb, Changes: changes, LayerA: layerOf(ea, ta, p), LayerB: layerOf(eb, tb, p)}
		switch {
		case ea == nil:
			pr.Added = append(pr.Added, fc)
		case eb == nil:
			pr.Removed = append(pr.Removed, fc)
		default:
			pr.Modified = append(pr.Modified, fc)
		}
	}
	if c.o.packages {
		if pr.Packages, err = c.packageChanges(ctx, pa, pb, ta, tb, false); err != nil {
			return err
		}
	}
	return c.addTextDiffs(ctx, pa, pb, pr.Modified)
}

func pathOf(ea, eb *Entry) string {
	if ea != nil {
		return ea.Path
	}
	return eb.Path
}

func layerOf(e *Entry, t *fsTree, p string) int {
	if e != nil {
		return e.Layer
	}
	if l, ok := t.deleted[p]; ok {
		return l
	}
	return -1
}
