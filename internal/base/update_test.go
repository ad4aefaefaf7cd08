package base

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/imagetest"
	"github.com/imgver/imgver/internal/regtest"
	"github.com/imgver/imgver/internal/userfile/userfiletest"
)

// TestWriteThroughSymlink: a Dockerfile that is a symlink (shared by
// images) stays a symlink; its target gets the new content and keeps its mode.
func TestWriteThroughSymlink(t *testing.T) {
	t.Parallel()
	reg := regtest.Start(t)
	ref := reg + "/lib/s:1.0.0"
	d := push(t, ref, imagetest.Random(t, 80, time.Unix(0, 0)))
	dir := t.TempDir()
	target := filepath.Join(dir, "Dockerfile.shared")
	if err := os.WriteFile(target, []byte("FROM "+ref+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "Dockerfile")
	if err := os.Symlink("Dockerfile.shared", link); err != nil {
		t.Fatal(err)
	}
	update(t, &config.Image{Name: "app", Dockerfile: link})
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("Dockerfile is no longer a symlink: %v %v", fi.Mode(), err)
	}
	if got, want := userfiletest.Read(t, target), "FROM "+ref+"@"+d+"\n"; got != want {
		t.Errorf("target = %q, want %q", got, want)
	}
	if fi, err := os.Stat(target); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("target mode %v %v, want 0600", fi.Mode(), err)
	}
}

// TestUpdateUnresolvable: one reference that cannot be resolved fails the
// update, and no Dockerfile is planned for writing.
func TestUpdateUnresolvable(t *testing.T) {
	t.Parallel()
	reg := regtest.Start(t)
	good := reg + "/lib/good:1.0.0"
	push(t, good, imagetest.Random(t, 30, time.Unix(0, 0)))
	a := writeDockerfile(t, "FROM "+good+"\n")
	a.Name = "a"
	b := writeDockerfile(t, "FROM "+good+"\nRUN x\nFROM "+reg+"/lib/missing:1.0.0 AS m\n")
	b.Name = "b"

	p, err := updatePlan(t.Context(), []*config.Image{a, b})
	var ue *UnresolvedError
	if !errors.As(err, &ue) {
		t.Fatalf("Update error = %v, want *UnresolvedError", err)
	}
	if len(p.Files) != 0 {
		t.Errorf("plan has %d files, want none", len(p.Files))
	}
	msg := err.Error()
	for _, s := range []string{b.Dockerfile + ":3", `image "b"`, reg + "/lib/missing:1.0.0"} {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q does not name %q", msg, s)
		}
	}
	if len(ue.Results) != 1 || ue.Results[0].Line != 3 {
		t.Errorf("unresolved results: %+v", verdicts(ue.Results))
	}
}

// TestUpdateARG: an unpinned reference built from an ARG is reported as not
// updatable and the file is left as it is.
func TestUpdateARG(t *testing.T) {
	t.Parallel()
	reg := regtest.Start(t)
	push(t, reg+"/lib/py:3.13-slim", imagetest.Random(t, 40, time.Unix(0, 0)))
	// W has no default, but ${W:-3.13} does.
	src := "ARG V=3.13\nARG W\nFROM " + reg + "/lib/py:${V}-slim\nFROM " + reg + "/lib/py:${W:-3.13}-slim\n"
	img := writeDockerfile(t, src)
	p := update(t, img)
	if len(p.Files) != 0 {
		t.Errorf("update planned %d files, want none", len(p.Files))
	}
	for _, r := range p.Reports[0].Results {
		if r.Status != StatusUnpinned || !strings.Contains(r.NotUpdatable, "ARG") || r.Resolved != reg+"/lib/py:3.13-slim" {
			t.Errorf("result = %+v", r)
		}
	}
	if got := userfiletest.Read(t, img.Dockerfile); got != src {
		t.Errorf("Dockerfile changed:\n%s", got)
	}
}

// TestWriteAllOrNothing: when writing the second Dockerfile fails, the first
// is put back; a file changed since Update read it is not overwritten.
func TestWriteAllOrNothing(t *testing.T) {
	reg := regtest.Start(t)
	ref := reg + "/lib/w:1.0.0"
	push(t, ref, imagetest.Random(t, 50, time.Unix(0, 0)))
	a := writeDockerfile(t, "FROM "+ref+"\n")
	b := writeDockerfile(t, "FROM "+ref+" AS b\n")
	b.Name = "b"
	srcA, srcB := userfiletest.Read(t, a.Dockerfile), userfiletest.Read(t, b.Dockerfile)

	p, err := updatePlan(t.Context(), []*config.Image{a, b})
	if err != nil || len(p.Files) != 2 {
		t.Fatalf("Update: %v, %d files", err, len(p.Files))
	}
	orig := writeFile
	t.Cleanup(func() { writeFile = orig })
	boom := errors.New("disk full")
	writeFile = func(path string, data []byte) error {
		if path == b.Dockerfile {
			return boom
		}
		return orig(path, data)
	}
	if err := p.Write(); !errors.Is(err, boom) {
		t.Fatalf("Write: %v, want %v", err, boom)
	}
	if got := userfiletest.Read(t, a.Dockerfile); got != srcA {
		t.Errorf("first Dockerfile not restored:\n%s", got)
	}
	if got := userfiletest.Read(t, b.Dockerfile); got != srcB {
		t.Errorf("second Dockerfile changed:\n%s", got)
	}

	writeFile = orig
	if err := os.WriteFile(b.Dockerfile, []byte("FROM x:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.Write(); !errors.Is(err, ErrModified) {
		t.Errorf("Write after an edit: %v, want ErrModified", err)
	}
	if got := userfiletest.Read(t, a.Dockerfile); got != srcA {
		t.Errorf("first Dockerfile written although the second was modified:\n%s", got)
	}
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
