package flow

import (
	"fmt"
	"strings"

	"github.com/imgver/imgver/internal/detect"
)

// summarise says in one line what changed.
func summarise(res *detect.Result) string {
	var added, removed, modified, fields, only int
	var first string
	for _, p := range res.Platforms {
		if p.OnlyIn != "" {
			only++
		}
		added += len(p.Added)
		removed += len(p.Removed)
		modified += len(p.Modified)
		fields += len(p.Config)
		if first == "" {
			for _, fcs := range [][]*detect.FileChange{p.Modified, p.Added, p.Removed} {
				if len(fcs) > 0 && first == "" {
					first = fcs[0].Path
				}
			}
		}
	}
	var parts []string
	add := func(n int, one, more string) {
		switch {
		case n == 1:
			parts = append(parts, "1 "+one)
		case n > 1:
			parts = append(parts, fmt.Sprintf("%d %s", n, more))
		}
	}
	add(modified, "modified", "modified")
	add(added, "added", "added")
	add(removed, "removed", "removed")
	add(fields, "config field", "config fields")
	add(only, "platform on one side only", "platforms on one side only")
	s := strings.Join(parts, ", ")
	if first != "" {
		s += " (e.g. " + first + ")"
	}
	return s
}

// Reasons lists every difference of res, one line each.
func Reasons(res *detect.Result) []string {
	var out []string
	multi := len(res.Platforms) > 1
	for _, p := range res.Platforms {
		pre := ""
		if multi {
			pre = p.Platform + ": "
		}
		if p.OnlyIn != "" {
			out = append(out, fmt.Sprintf("%splatform only in %s", pre, p.OnlyIn))
		}
		for _, fc := range p.Added {
			out = append(out, fmt.Sprintf("%sadded %s", pre, fc.Path))
		}
		for _, fc := range p.Removed {
			out = append(out, fmt.Sprintf("%sremoved %s", pre, fc.Path))
		}
		for _, fc := range p.Modified {
			var attrs []string
			for _, c := range fc.Changes {
				attrs = append(attrs, fmt.Sprintf("%s %s -> %s", c.Field, c.A, c.B))
			}
			out = append(out, fmt.Sprintf("%smodified %s: %s", pre, fc.Path, strings.Join(attrs, ", ")))
		}
		for _, c := range p.Config {
			out = append(out, fmt.Sprintf("%sconfig %s: %s -> %s", pre, c.Field, c.A, c.B))
		}
		if p.HistoryCounts {
			for _, h := range p.History {
				out = append(out, fmt.Sprintf("%shistory %d: %q -> %q", pre, h.Index, h.A, h.B))
			}
		}
	}
	return out
}
