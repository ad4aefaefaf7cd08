package main

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/imgver/imgver/internal/detect"
	"github.com/imgver/imgver/internal/flow"
	"github.com/imgver/imgver/internal/release"
	"github.com/imgver/imgver/internal/userfile"
)

// renderDetectWarnings prints what detect could not look at, one line each.
func renderDetectWarnings(w io.Writer, rep *flow.DetectReport) {
	for _, warn := range rep.Warnings {
		warnf(w, "%s", warn)
	}
	for _, di := range rep.Images {
		for _, warn := range di.Warnings {
			warnf(w, "image %s: %s", di.Name, warn)
		}
	}
}

// renderDetect renders rep in format: text, json, github or dotenv.
func renderDetect(w io.Writer, rep *flow.DetectReport, format string, verbose bool) error {
	if format == "json" {
		return writeJSON(w, detectJSON(rep, verbose))
	}
	publish, err := jsonLine(rep.Publish)
	if err != nil {
		return err
	}
	if format == "dotenv" {
		return writeDotenv(w, []dotenvVar{
			{"short_sha", rep.ShortSHA},
			{"changed", strings.Join(rep.Changed, ",")},
			{"publish", publish},
			{"broken", strings.Join(rep.Broken, ",")},
			{"base_stale", strings.Join(rep.BaseStale, ",")},
		})
	}
	renderDetectText(w, rep, verbose)
	if format != "github" {
		return nil
	}
	if err := writeGitHubOutput(w, func(w io.Writer) {
		fmt.Fprintf(w, "changed=%s\n", strings.Join(rep.Changed, ","))
		fmt.Fprintf(w, "publish=%s\n", publish)
		fmt.Fprintf(w, "broken=%s\n", strings.Join(rep.Broken, ","))
		fmt.Fprintf(w, "base_stale=%s\n", strings.Join(rep.BaseStale, ","))
	}); err != nil {
		return err
	}
	return appendToEnvFile("GITHUB_STEP_SUMMARY", w, func(w io.Writer) { renderDetectMarkdown(w, rep) })
}

// detectJSON is rep as --format json prints it: the full comparison of each
// image only when verbose.
func detectJSON(rep *flow.DetectReport, verbose bool) *flow.DetectReport {
	if verbose {
		return rep
	}
	out := *rep
	out.Images = slices.Clone(rep.Images)
	for i := range out.Images {
		out.Images[i].Result = nil
	}
	return &out
}

// writeDetectJSON writes rep as --format json prints it to the file at
// path (detect --output), atomically.
func writeDetectJSON(path string, rep *flow.DetectReport, verbose bool) error {
	var b bytes.Buffer
	if err := writeJSON(&b, detectJSON(rep, verbose)); err != nil {
		return err
	}
	if err := userfile.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing shard result %q: %w", path, err)
	}
	return nil
}

func renderDetectText(w io.Writer, rep *flow.DetectReport, verbose bool) {
	tw := newTable(w)
	fmt.Fprintln(tw, "IMAGE\tBEFORE\tVERDICT\tCAUSE\tAFTER\tVERSION\tBASE\tCHECK")
	for _, di := range rep.Images {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", di.Name, stateVersion(di.StateBefore, di.VersionBefore), di.Verdict,
			dash(string(di.Cause)), di.StateAfter, di.Version, baseText(di.BaseStale), checkText(di))
	}
	_ = tw.Flush()
	for _, di := range rep.Images {
		renderFailedCheck(w, di.Name, di.Candidate, di.Problems)
	}
	for _, di := range rep.Images {
		if di.Verdict != detect.Changed {
			continue
		}
		fmt.Fprintf(w, "\n%s changed: %s\n", di.Name, di.Summary)
		reasons := di.Reasons
		if !verbose && len(reasons) > 5 {
			reasons = append(reasons[:5:5], fmt.Sprintf("... and %d more (--verbose lists them all)", len(di.Reasons)-5))
		}
		for _, r := range reasons {
			fmt.Fprintf(w, "  %s\n", r)
		}
	}
	if verbose {
		var read []string
		for _, di := range rep.Images {
			if di.BaselineSource != "" {
				read = append(read, di.Name+" "+di.BaselineSource)
			}
		}
		if len(read) > 0 {
			fmt.Fprintf(w, "\nBaselines read from (summary, cache, layers, none): %s.\n", strings.Join(read, ", "))
		}
	}
	fmt.Fprintln(w)
	switch {
	case len(rep.Changed) == 0:
		fmt.Fprintln(w, "No pinned image changed.")
	case rep.Written:
		fmt.Fprintf(w, "Unpinned in the pin file: %s.\n", strings.Join(rep.Changed, ", "))
	default:
		fmt.Fprintf(w, "Dry run: --write would unpin %s.\n", strings.Join(rep.Changed, ", "))
	}
	var pub []string
	for _, p := range rep.Publish {
		pub = append(pub, p.Name)
	}
	if len(pub) == 0 {
		fmt.Fprintln(w, "Nothing to publish.")
	} else {
		fmt.Fprintf(w, "To publish under %s: %s.\n", rep.ShortSHA, strings.Join(pub, ", "))
	}
	if len(rep.BaseStale) > 0 {
		fmt.Fprintf(w, "Stale base image (rebuilt upstream under its tag; imgver base update --unpin): %s.\n", strings.Join(rep.BaseStale, ", "))
	}
}

// baseText renders base_stale: "stale", "ok", or "-" when unknown.
func baseText(stale *bool) string {
	switch {
	case stale == nil:
		return "-"
	case *stale:
		return "stale"
	}
	return "ok"
}

// checkText renders the check outcome: "ok", "FAILED", or "-" when the
// candidate was not checked.
func checkText(di flow.DetectImage) string {
	switch {
	case len(di.Problems) > 0:
		return "FAILED"
	case !di.Checked:
		return "-"
	}
	return "ok"
}

func renderDetectMarkdown(w io.Writer, rep *flow.DetectReport) {
	fmt.Fprintf(w, "### imgver detect (%s)\n\n", rep.ShortSHA)
	fmt.Fprintln(w, "| image | before | verdict | cause | after | version | base | check | summary |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, di := range rep.Images {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", di.Name, stateVersion(di.StateBefore, di.VersionBefore),
			di.Verdict, dash(string(di.Cause)), di.StateAfter, di.Version, baseText(di.BaseStale), checkText(di), strings.ReplaceAll(di.Summary, "|", "\\|"))
	}
	fmt.Fprintln(w)
}

func stateVersion(s release.State, v string) string {
	if v == "" {
		return string(s)
	}
	return string(s) + " " + v
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
