package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/imgver/imgver/internal/flow"
)

// publishedItem is one image of the published= output: the list a scanner
// takes.
type publishedItem struct {
	Name       string   `json:"name"`
	Repository string   `json:"repository"`
	Tag        string   `json:"tag"`
	Digest     string   `json:"digest"`
	AlsoTags   []string `json:"also_tags"`
	Status     string   `json:"status"`
}

func publishedItems(rep *flow.PublishReport) []publishedItem {
	out := []publishedItem{}
	for _, pi := range rep.Images {
		out = append(out, publishedItem{pi.Name, pi.Repository, pi.Tag, pi.Digest, pi.AlsoTags, pi.Status})
	}
	return out
}

// renderPublish renders rep in format: text, json, github or dotenv.
func renderPublish(w io.Writer, rep *flow.PublishReport, format string) error {
	switch format {
	case "json":
		return writeJSON(w, rep)
	case "dotenv":
		js, err := jsonLine(publishedItems(rep))
		if err != nil {
			return err
		}
		var names []string
		for _, pi := range rep.Images {
			names = append(names, pi.Name)
		}
		return writeDotenv(w, []dotenvVar{
			{"short_sha", rep.ShortSHA},
			{"published", strings.Join(names, ",")},
			{"published_json", js},
		})
	}
	renderPublishText(w, rep)
	if format != "github" {
		return nil
	}
	js, err := jsonLine(publishedItems(rep))
	if err != nil {
		return err
	}
	if err := writeGitHubOutput(w, func(w io.Writer) { fmt.Fprintf(w, "published=%s\n", js) }); err != nil {
		return err
	}
	return appendToEnvFile("GITHUB_STEP_SUMMARY", w, func(w io.Writer) {
		fmt.Fprintf(w, "### imgver publish (%s)\n\n", rep.ShortSHA)
		fmt.Fprintln(w, "| image | pushed as | digest | also | status |")
		fmt.Fprintln(w, "|---|---|---|---|---|")
		for _, pi := range rep.Images {
			fmt.Fprintf(w, "| %s | `%s:%s` | `%s` | %s | %s |\n", pi.Name, pi.Repository, pi.Tag, pi.Digest, dash(strings.Join(pi.AlsoTags, ", ")), publishStatus(pi))
		}
		fmt.Fprintln(w)
	})
}

// publishStatus is the status column: "pushed", "exists", "would-push",
// "FAILED" for a candidate that fails its checks.
func publishStatus(pi flow.PublishedImage) string {
	if len(pi.Problems) > 0 {
		return "FAILED"
	}
	return pi.Status
}

func renderPublishText(w io.Writer, rep *flow.PublishReport) {
	if len(rep.Images) == 0 {
		fmt.Fprintf(w, "Nothing to publish (mode %s): no image is unpinned.\n", rep.Mode)
		return
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "IMAGE\tTARGET\tDIGEST\tALSO\tSTATUS")
	for _, pi := range rep.Images {
		fmt.Fprintf(tw, "%s\t%s:%s\t%s\t%s\t%s\n", pi.Name, pi.Repository, pi.Tag, shortDigest(pi.Digest), dash(strings.Join(pi.AlsoTags, ",")), publishStatus(pi))
	}
	_ = tw.Flush()
	for _, pi := range rep.Images {
		renderFailedCheck(w, pi.Name, pi.Candidate, pi.Problems)
	}
	counts := map[string]int{}
	for _, pi := range rep.Images {
		counts[pi.Status]++
	}
	fmt.Fprintln(w)
	switch {
	case len(rep.Broken) > 0:
		fmt.Fprintln(w, "Nothing pushed.")
	case rep.DryRun:
		fmt.Fprintf(w, "Dry run: would push %d, %d already published.\n", counts["would-push"], counts["exists"])
	default:
		fmt.Fprintf(w, "Pushed %d, %d already published.\n", counts["pushed"], counts["exists"])
	}
	attached := 0
	for _, pi := range rep.Images {
		for _, sm := range pi.Summaries {
			if sm.Status == "attached" {
				attached++
			}
		}
	}
	if attached > 0 {
		fmt.Fprintf(w, "Summaries attached: %d.\n", attached)
	}
}

// shortDigest shortens sha256:<64 hex> to sha256:<12 hex> for the table.
func shortDigest(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12]
	}
	return d
}
