package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/imgver/imgver/internal/base"
	"github.com/imgver/imgver/internal/flow"
)

// baseJSONSchema documents --format json; keep it in step with
// base.Report and base.Result.
const baseJSONSchema = `With --format json, stdout is one object:

  {
    "images": [{
      "image": "api-gateway",
      "dockerfile": "demo/api-gateway/Dockerfile",   (absent with "skipped")
      "skipped": "no dockerfile",                     (only when skipped)
      "bases": [{
        "image": "api-gateway", "dockerfile": "...", "line": 2,
        "stage": "build",                  (AS name, if any)
        "ref": "python:${V}-slim",         (as written)
        "resolved": "python:3.13-slim",    (after ARG substitution, if different)
        "platform": "linux/amd64",
        "status": "pinned-current|pinned-stale|unpinned|digest-only|error",
        "match": "index|manifest|platform|index-moved",   (pinned-current only)
        "pinned": "sha256:...",            (the digest in the FROM)
        "current": "sha256:...",           (what the tag points to now)
        "current_platform": "sha256:...",  (the platform's manifest, for an index)
        "created": "2026-01-02T03:04:05Z", (pinned-stale: the new image's config)
        "warnings": [{"kind": "mutable-tag", "message": "..."}],
        "not_updatable": "...",            (why update cannot pin it in place)
        "error": "..."
      }]
    }],
    "files": [{"path": "...", "diff": "..."}]   (update only: files changed, or
                                                  to be changed with --dry-run)
  }`

// renderBaseCheck renders the reports of base check in format.
func renderBaseCheck(out io.Writer, reps []base.Report, format string) error {
	switch format {
	case "json":
		return writeBaseJSON(out, reps, nil)
	case "github":
		stale, unpinned := base.ImagesWith(reps, base.StatusPinnedStale), base.ImagesWith(reps, base.StatusUnpinned)
		return writeGitHubOutput(out, func(w io.Writer) {
			fmt.Fprintf(w, "stale=%s\nunpinned=%s\n", strings.Join(stale, ","), strings.Join(unpinned, ","))
		})
	}
	writeBaseText(out, reps)
	return nil
}

// renderBaseUnresolved renders what base update found before it failed.
func renderBaseUnresolved(out io.Writer, reps []base.Report, format string) error {
	switch format {
	case "text":
		writeBaseText(out, reps)
	case "json":
		return writeBaseJSON(out, reps, nil)
	}
	return nil
}

// renderBaseUpdate renders what base update did (or, with dryRun, would
// do) in format.
func renderBaseUpdate(out io.Writer, plan *base.Plan, format string, dryRun bool) error {
	switch format {
	case "json":
		return writeBaseJSON(out, plan.Reports, plan.Files)
	case "github":
		var names []string
		for _, r := range plan.Reports {
			if slices.ContainsFunc(plan.Files, func(f base.FileChange) bool { return f.Path == r.Dockerfile }) {
				names = append(names, r.Image)
			}
		}
		return writeGitHubOutput(out, func(w io.Writer) { fmt.Fprintf(w, "updated=%s\n", strings.Join(names, ",")) })
	}
	if dryRun {
		for _, f := range plan.Files {
			if _, err := io.WriteString(out, base.Diff(relToWD(f.Path), f.Old, f.New)); err != nil {
				return err
			}
		}
		return nil
	}
	writeUpdateText(out, plan)
	return nil
}

// renderBaseUnpin says on w which images base update --unpin unpinned (or,
// with dryRun, would unpin) and which it left pinned by hand.
func renderBaseUnpin(w io.Writer, up *flow.BasesUpdate, dryRun bool) {
	for _, n := range up.ManualLeft {
		fmt.Fprintf(w, "imgver: %s has a stale base but a manual pin: left pinned\n", n)
	}
	if len(up.Unpinned) == 0 {
		return
	}
	if dryRun {
		var names []string
		for _, c := range up.Unpinned {
			names = append(names, c.Name)
		}
		fmt.Fprintf(w, "imgver: would unpin %s (stale base)\n", strings.Join(names, ", "))
		return
	}
	for _, c := range up.Unpinned {
		fmt.Fprintf(w, "imgver: %s (stale base)\n", describeChange(c))
	}
}

// notUpdatable lists the FROMs of plan that needed an update but could not
// be pinned in place, as file:line: ref.
func notUpdatable(plan *base.Plan) []string {
	var left []string
	for _, rep := range plan.Reports {
		for _, r := range rep.Results {
			if r.NeedsUpdate() && r.NotUpdatable != "" {
				left = append(left, fmt.Sprintf("%s:%d: %s", relToWD(r.Dockerfile), r.Line, r.Ref))
			}
		}
	}
	return left
}

func writeBaseJSON(out io.Writer, reps []base.Report, files []base.FileChange) error {
	type file struct {
		Path string `json:"path"`
		Diff string `json:"diff"`
	}
	doc := struct {
		Images []base.Report `json:"images"`
		Files  []file        `json:"files,omitempty"`
	}{Images: reps}
	for i := range doc.Images {
		rep := &doc.Images[i]
		rep.Dockerfile = relToWD(rep.Dockerfile)
		rs := slices.Clone(rep.Results)
		for j := range rs {
			rs[j].Dockerfile = relToWD(rs[j].Dockerfile)
		}
		rep.Results = rs
	}
	for _, f := range files {
		p := relToWD(f.Path)
		doc.Files = append(doc.Files, file{Path: p, Diff: base.Diff(p, f.Old, f.New)})
	}
	return writeJSON(out, doc)
}

// writeBaseText prints one block per base, then a count of each status.
func writeBaseText(out io.Writer, reps []base.Report) {
	counts := map[base.Status]int{}
	for _, rep := range reps {
		if rep.Skipped != "" {
			fmt.Fprintf(out, "%s: skipped: %s\n", rep.Image, rep.Skipped)
			continue
		}
		if len(rep.Results) == 0 {
			fmt.Fprintf(out, "%s: %s: no base images\n", rep.Image, relToWD(rep.Dockerfile))
		}
		for _, r := range rep.Results {
			counts[r.Status]++
			fmt.Fprintf(out, "%s: %s:%d: %s: %s\n", r.Image, relToWD(r.Dockerfile), r.Line, r.Ref, describe(r))
			if r.Resolved != "" {
				fmt.Fprintf(out, "    resolved: %s\n", r.Resolved)
			}
			switch r.Status {
			case base.StatusPinnedStale:
				fmt.Fprintf(out, "    pinned:   %s\n", r.Pinned)
				fmt.Fprintf(out, "    current:  %s\n", current(r))
				if r.Created != nil {
					fmt.Fprintf(out, "    created:  %s\n", r.Created.Format(time.RFC3339))
				}
			case base.StatusUnpinned:
				fmt.Fprintf(out, "    current:  %s\n", current(r))
			}
			if r.NotUpdatable != "" && r.Status != base.StatusError && r.Status != base.StatusDigestOnly {
				fmt.Fprintf(out, "    not updatable: %s\n", r.NotUpdatable)
			}
			for _, w := range r.Warnings {
				fmt.Fprintf(out, "    warning: %s: %s\n", w.Kind, w.Message)
			}
		}
	}
	var parts []string
	total := 0
	for _, s := range []base.Status{base.StatusPinnedCurrent, base.StatusPinnedStale, base.StatusUnpinned, base.StatusDigestOnly, base.StatusError} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
			total += counts[s]
		}
	}
	if total > 0 {
		fmt.Fprintf(out, "%s: %s\n", plural(total, "base"), strings.Join(parts, ", "))
	}
}

// describe is the status of r with what it means.
func describe(r base.Result) string {
	switch r.Status {
	case base.StatusPinnedCurrent:
		switch r.Match {
		case base.MatchIndex:
			return "pinned-current (the index digest)"
		case base.MatchManifest:
			return "pinned-current (the manifest digest)"
		case base.MatchPlatform:
			return "pinned-current (the " + r.Platform + " manifest in the index)"
		case base.MatchIndexMoved:
			return "pinned-current (an earlier index; its " + r.Platform + " image is unchanged, the index changed for other platforms: update refreshes the pin)"
		}
		return "pinned-current"
	case base.StatusPinnedStale:
		return "pinned-stale (the tag now points to another " + r.Platform + " image)"
	case base.StatusUnpinned:
		return "unpinned (a mutable tag without digest)"
	case base.StatusDigestOnly:
		return "digest-only (no tag: cannot be checked for staleness)"
	case base.StatusError:
		return "error: " + r.Error
	}
	return string(r.Status)
}

// current describes the digests the tag points to now.
func current(r base.Result) string {
	if r.CurrentPlatform != "" {
		return fmt.Sprintf("%s (index), %s (%s)", r.Current, r.CurrentPlatform, r.Platform)
	}
	return r.Current
}

// writeUpdateText says which FROMs were pinned and which could not be.
func writeUpdateText(out io.Writer, plan *base.Plan) {
	changed := map[string]bool{}
	for _, f := range plan.Files {
		changed[f.Path] = true
	}
	seen := map[string]bool{} // a Dockerfile shared by images is told once
	n := 0
	for _, rep := range plan.Reports {
		if rep.Skipped != "" {
			fmt.Fprintf(out, "%s: skipped: %s\n", rep.Image, rep.Skipped)
			continue
		}
		for _, r := range rep.Results {
			key := fmt.Sprintf("%s:%d", r.Dockerfile, r.Line)
			if !r.NeedsUpdate() || seen[key] {
				continue
			}
			seen[key] = true
			if r.NotUpdatable != "" {
				fmt.Fprintf(out, "%s: %s:%d: %s: not updated: %s\n", r.Image, relToWD(r.Dockerfile), r.Line, r.Ref, r.NotUpdatable)
				continue
			}
			if changed[r.Dockerfile] {
				n++
				fmt.Fprintf(out, "%s: %s:%d: %s: pinned to %s\n", r.Image, relToWD(r.Dockerfile), r.Line, r.Ref, r.Current)
			}
		}
	}
	fmt.Fprintf(out, "%s pinned in %s\n", plural(n, "base"), plural(len(plan.Files), "file"))
}

// plural is "1 base", "2 bases".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
