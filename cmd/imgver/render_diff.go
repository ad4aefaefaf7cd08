package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/imgver/imgver/internal/detect"
)

// renderDiffText renders res for people.
func renderDiffText(w io.Writer, res *detect.Result) error {
	ew := &errWriter{w: w}
	ew.printf("%s\n", strings.ToUpper(string(res.Verdict)))
	ignored := detect.IgnoredSummary{Rules: map[string]int{}}
	labels := map[string]bool{}
	for _, p := range res.Platforms {
		ignored.Paths += p.Ignored.Paths
		for r, n := range p.Ignored.Rules {
			ignored.Rules[r] += n
		}
		for _, l := range p.Ignored.Labels {
			labels[l] = true
		}
		writePlatform(ew, p, len(res.Platforms) > 1)
	}
	if ignored.Paths > 0 || len(labels) > 0 {
		var parts []string
		for _, r := range slices.Sorted(maps.Keys(ignored.Rules)) {
			parts = append(parts, fmt.Sprintf("%s %d", r, ignored.Rules[r]))
		}
		noun := "paths"
		if ignored.Paths == 1 {
			noun = "path"
		}
		line := fmt.Sprintf("ignored noise: %d differing %s", ignored.Paths, noun)
		if len(parts) > 0 {
			line += " (" + strings.Join(parts, ", ") + ")"
		}
		if len(labels) > 0 {
			line += "; labels " + strings.Join(slices.Sorted(maps.Keys(labels)), ", ")
		}
		ew.printf("%s\n", line)
	}
	return ew.err
}

func writePlatform(ew *errWriter, p *detect.PlatformResult, many bool) {
	indent := ""
	if many {
		ew.printf("platform %s: %s\n", p.Platform, strings.ToUpper(string(p.Verdict)))
		indent = "  "
	}
	if p.OnlyIn != "" {
		ew.printf("%splatform %s is only in %s\n", indent, p.Platform, strings.ToUpper(p.OnlyIn))
		return
	}
	layers := func(fc *detect.FileChange) string {
		var s []string
		if fc.LayerA >= 0 {
			s = append(s, fmt.Sprintf("A layer %d", fc.LayerA))
		}
		if fc.LayerB >= 0 {
			s = append(s, fmt.Sprintf("B layer %d", fc.LayerB))
		}
		if len(s) == 0 {
			return ""
		}
		return " [" + strings.Join(s, ", ") + "]"
	}
	if len(p.Added) > 0 {
		ew.printf("%sfiles added:\n", indent)
		for _, fc := range p.Added {
			ew.printf("%s  + %s (%s)%s\n", indent, fc.Path, describeEntry(fc.B), layers(fc))
		}
	}
	if len(p.Removed) > 0 {
		ew.printf("%sfiles removed:\n", indent)
		for _, fc := range p.Removed {
			ew.printf("%s  - %s (%s)%s\n", indent, fc.Path, describeEntry(fc.A), layers(fc))
		}
	}
	if len(p.Modified) > 0 {
		ew.printf("%sfiles modified:\n", indent)
		for _, fc := range p.Modified {
			var ch []string
			for _, c := range fc.Changes {
				ch = append(ch, fmt.Sprintf("%s %s -> %s", c.Field, orNone(c.A), orNone(c.B)))
			}
			ew.printf("%s  ~ %s: %s%s\n", indent, fc.Path, strings.Join(ch, "; "), layers(fc))
			if fc.Diff != "" {
				for _, l := range strings.SplitAfter(strings.TrimSuffix(fc.Diff, "\n"), "\n") {
					ew.printf("%s      %s", indent, l)
				}
				ew.printf("\n")
			}
		}
	}
	if len(p.Config) > 0 {
		ew.printf("%sconfig:\n", indent)
		for _, c := range p.Config {
			ew.printf("%s  ~ %s: %s -> %s\n", indent, c.Field, orNone(c.A), orNone(c.B))
		}
	}
	if len(p.History) > 0 {
		if p.HistoryCounts {
			ew.printf("%shistory:\n", indent)
		} else {
			ew.printf("%shistory (not counted; --history counts it):\n", indent)
		}
		for _, h := range p.History {
			ew.printf("%s  ~ #%d: %s -> %s\n", indent, h.Index, orNone(quote(h.A)), orNone(quote(h.B)))
		}
	}
}

// describeEntry renders an entry briefly: "file 0644 0:0 12 bytes".
func describeEntry(e *detect.Entry) string {
	if e == nil {
		return ""
	}
	s := fmt.Sprintf("%s %04o %d:%d", e.Type, e.Mode, e.UID, e.GID)
	switch {
	case e.Type == detect.TypeFile && e.Hardlink != "":
		s += " hard link to " + e.Hardlink
	case e.Type == detect.TypeFile:
		s += fmt.Sprintf(" %d bytes", e.Size)
	case e.Type == detect.TypeSymlink:
		s += " -> " + e.Link
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func quote(s string) string {
	if s == "" {
		return ""
	}
	return fmt.Sprintf("%q", s)
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
