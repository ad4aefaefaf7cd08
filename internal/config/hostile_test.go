package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHostileInput: each input of issue 9 gets its own clear diagnostic,
// and a huge bad value is quoted cut, never whole.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	huge := "/HUGE[" + strings.Repeat("x", 300<<10)
	tests := []struct {
		name, src string
		want      string // prefix of the one-line error
	}{
		{name: "300 KB ignore glob", src: "registry = \"r.io/x\"\nignore = [\"" + huge + "\"]\nimage \"a\" {}\n", want: `images.hcl:2:10: Invalid ignore glob: ignore glob "/HUGE[`},
		{name: "300 KB release pattern", src: "registry = \"r.io/x\"\nrelease_pattern = \"" + huge + "\"\nimage \"a\" {}\n", want: `images.hcl:2:19: Invalid release_pattern: "/HUGE[`},
		{name: "300 KB registry", src: "registry = \"" + huge + "\"\nimage \"a\" {}\n", want: `images.hcl:1:12: Invalid registry: "/HUGE[`},
		{name: "300 KB repository", src: "image \"a\" {\n  repository = \"" + huge + "\"\n}\n", want: `images.hcl:2:16: Invalid repository: "/HUGE[`},
		{name: "unclosed placeholder", src: "registry = \"r.io/x\"\nimage \"a\" {\n  candidate = \"oci:build/{name\"\n}\n", want: `images.hcl:3:15: Invalid candidate: unclosed placeholder or stray '{' in candidate "oci:build/{name"`},
		{name: "stray closing brace", src: "registry = \"r.io/x\"\nimage \"a\" {\n  candidate = \"oci:build/name}\"\n}\n", want: `images.hcl:3:15: Invalid candidate: unclosed placeholder or stray '}'`},
		{name: "empty", src: "", want: `images.hcl:1:1: No images: The file declares no image block`},
		{name: "only settings", src: "registry = \"r.io/x\"\n# image \"a\" {}\n", want: `images.hcl:1:1: No images`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			de := diagnose(t, tc.src)
			line := de.Error()
			if !strings.HasPrefix(line, tc.want) {
				t.Errorf("error = %.300q, want prefix %q", line, tc.want)
			}
			var buf bytes.Buffer
			if err := de.Render(&buf); err != nil {
				t.Fatal(err)
			}
			// The value once, cut, in the line and once in the rendered
			// detail; no 300 KB snippet.
			if len(line) > 400 || buf.Len() > 1000 {
				t.Errorf("error is %d bytes, rendered %d bytes, want them short:\n%.400s\n%.1000s", len(line), buf.Len(), line, buf.String())
			}
			if n := strings.Count(line, "HUGE"); n > 1 {
				t.Errorf("error quotes the value %d times: %.400s", n, line)
			}
		})
	}
}

// diagnose parses src as images.hcl and returns its *DiagnosticsError.
func diagnose(t *testing.T, src string) *DiagnosticsError {
	t.Helper()
	_, err := Parse("images.hcl", []byte(src))
	var de *DiagnosticsError
	if !errors.As(err, &de) {
		t.Fatalf("error = %v, want a *DiagnosticsError", err)
	}
	return de
}

// TestFindDirectory: an images.hcl that is a directory is named as such,
// not taken for a missing file.
func TestFindDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, FileName), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Find(dir)
	if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), filepath.Join(dir, FileName)+" is a directory") {
		t.Errorf("Find = %v, want an error saying %s is a directory", err, filepath.Join(dir, FileName))
	}
}
