package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/imgver/imgver/internal/pinfile"
	"github.com/imgver/imgver/internal/release"
)

// warnf prints a warning on w (stderr) as one line "imgver: warning: ...".
func warnf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "imgver: warning: "+format+"\n", args...)
}

// warnUnknownVars warns on w about each NAME_VER assignment of the pin file
// f that no image owns (release.UnknownVars).
func warnUnknownVars(w io.Writer, f *pinfile.File) {
	for _, u := range release.UnknownVars(f) {
		warnf(w, "%s", u)
	}
}

// newTable returns the writer of a table for people on w: columns two
// blanks apart. Flush it.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeGitHubOutput appends what write writes to the file named by
// $GITHUB_OUTPUT, or writes it to stdout when that is unset.
func writeGitHubOutput(stdout io.Writer, write func(io.Writer)) error {
	return appendToEnvFile("GITHUB_OUTPUT", stdout, write)
}

// appendToEnvFile appends what write writes to the file named by the
// environment variable env (a GitHub Actions file command), or to stdout when
// it is unset. The content is built first and appended in one write.
func appendToEnvFile(env string, stdout io.Writer, write func(io.Writer)) error {
	path := os.Getenv(env)
	if path == "" {
		write(stdout)
		return nil
	}
	var b bytes.Buffer
	write(&b)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("opening $%s: %w", env, err)
	}
	if _, err := f.Write(b.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("writing $%s: %w", env, err)
	}
	return f.Close()
}

// openableGitHubFiles checks, when format is github, that each file named
// by one of the environment variables envs (those set: $GITHUB_OUTPUT,
// $GITHUB_STEP_SUMMARY) can be opened for appending, so that a command that
// writes the pin file or Dockerfiles before its GitHub outputs fails before
// it writes anything, not after.
func openableGitHubFiles(format *choiceFlag, envs ...string) error {
	if format.value != "github" {
		return nil
	}
	for _, env := range envs {
		path := os.Getenv(env)
		if path == "" {
			continue
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("opening $%s: %w", env, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("opening $%s: %w", env, err)
		}
	}
	return nil
}

// jsonLine encodes v as JSON on one line, for a GitHub output value.
func jsonLine(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// isTerminal reports whether w is a terminal, where progress is shown.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// byteSize renders n bytes for people: "512 B", "3.4 KiB", "1.2 GiB".
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 3; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGT"[exp])
}
