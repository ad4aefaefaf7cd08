package main

import (
	"fmt"
	"io"

	"github.com/imgver/imgver/internal/preflight"
)

// renderCheck renders the reports of imgver check in format: text or json.
func renderCheck(w io.Writer, reports []*preflight.Report, format string) error {
	if format == "json" {
		return writeJSON(w, reports)
	}
	for _, r := range reports {
		if r.OK {
			fmt.Fprintf(w, "OK %s (%s)\n", r.Ref, r.Platform)
			continue
		}
		fmt.Fprintf(w, "PROBLEMS %s (%s): %d\n", r.Ref, r.Platform, len(r.Problems))
		for _, p := range r.Problems {
			fmt.Fprintf(w, "  %-14s %s\n", p.Check, p.Message)
		}
	}
	return nil
}
