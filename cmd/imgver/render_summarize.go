package main

import (
	"fmt"
	"io"

	"github.com/imgver/imgver/internal/flow"
)

// renderSummarize renders rep in format: text or json.
func renderSummarize(w io.Writer, rep *flow.SummarizeReport, format string) error {
	if format == "json" {
		return writeJSON(w, rep)
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "IMAGE\tPLATFORM\tSUBJECT\tSUMMARY\tBYTES\tSTATUS")
	for _, im := range rep.Images {
		for _, s := range im.Summaries {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", im.Ref, s.Platform, shortDigest(s.Subject), shortDigest(s.Digest), s.Bytes, s.Status)
		}
	}
	return tw.Flush()
}
