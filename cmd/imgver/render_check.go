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

// renderFailedCheck prints the problems of an image's candidate that fails
// imgver check (detect, publish), under a line naming both; nothing when it
// has none.
func renderFailedCheck(w io.Writer, image, candidate string, problems []preflight.Problem) {
	if len(problems) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s fails imgver check (%s):\n", image, candidate)
	for _, p := range problems {
		renderProblem(w, p)
	}
}

// renderProblem prints one problem of the image checks, its platform first
// when it has one.
func renderProblem(w io.Writer, p preflight.Problem) {
	msg := p.Message
	if p.Platform != "" {
		msg = p.Platform + ": " + msg
	}
	fmt.Fprintf(w, "  %-14s %s\n", p.Check, msg)
}
