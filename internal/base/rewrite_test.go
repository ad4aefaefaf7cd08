package base

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/imgver/imgver/internal/userfile/userfiletest"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata")

const testDigest = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

// pinAll returns the refs that pin every in-place image FROM of d to
// testDigest, as update would.
func pinAll(t *testing.T, d *Dockerfile) map[int]string {
	t.Helper()
	refs := map[int]string{}
	for i, f := range d.Froms {
		if f.Kind != KindImage || !f.InPlace() {
			continue
		}
		r, err := parseReference(f.Ref)
		if err != nil {
			t.Fatal(err)
		}
		if !r.hasTag {
			continue
		}
		refs[i] = r.named + "@" + testDigest
	}
	return refs
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *updateGolden {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// lines splits b into lines that keep their endings.
func lines(b []byte) []string { return strings.SplitAfter(string(b), "\n") }

func TestRewriteGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/rewrite/*.Dockerfile")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".Dockerfile")
		t.Run(name, func(t *testing.T) {
			src := []byte(userfiletest.Read(t, file))
			d, err := Parse(src)
			if err != nil {
				t.Fatal(err)
			}
			out, err := d.Rewrite(pinAll(t, d))
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, strings.TrimSuffix(file, ".Dockerfile")+".golden", out)
			checkGolden(t, strings.TrimSuffix(file, ".Dockerfile")+".diff", []byte(Diff(name, src, out)))

			// Independently of the golden file: only FROM lines change,
			// and every line keeps its ending.
			in, got := lines(src), lines(out)
			if len(in) != len(got) {
				t.Fatalf("%d lines became %d", len(in), len(got))
			}
			fromLine := map[int]bool{}
			for _, f := range d.Froms {
				for l := f.Line; l <= f.EndLine; l++ {
					fromLine[l] = true
				}
			}
			for i := range in {
				if in[i] != got[i] && !fromLine[i+1] {
					t.Errorf("line %d changed: %q -> %q", i+1, in[i], got[i])
				}
				if ending(in[i]) != ending(got[i]) {
					t.Errorf("line %d: ending %q became %q", i+1, ending(in[i]), ending(got[i]))
				}
			}
			// No change: byte-identical.
			same, err := d.Rewrite(nil)
			if err != nil || !bytes.Equal(same, src) {
				t.Errorf("Rewrite(nil) changed the file (%v)", err)
			}
		})
	}
}

func ending(s string) string {
	switch {
	case strings.HasSuffix(s, "\r\n"):
		return "\r\n"
	case strings.HasSuffix(s, "\n"):
		return "\n"
	}
	return ""
}

// TestDiffNames: the diff names a relative file a/name and b/name, an
// absolute one by itself (the diff itself is textdiff's, tested there).
func TestDiffNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, want string }{
		{"img/Dockerfile", "--- a/img/Dockerfile\n+++ b/img/Dockerfile\n@@ -1 +1 @@\n-x\n+y\n"},
		{"/abs/Dockerfile", "--- /abs/Dockerfile\n+++ /abs/Dockerfile\n@@ -1 +1 @@\n-x\n+y\n"},
	} {
		if diff := cmp.Diff(tc.want, Diff(tc.name, []byte("x\n"), []byte("y\n"))); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
		if got := Diff(tc.name, []byte("x\n"), []byte("x\n")); got != "" {
			t.Errorf("%s: equal content gave a diff:\n%s", tc.name, got)
		}
	}
}
