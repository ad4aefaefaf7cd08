package detect

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// deepName is a path depth levels deep: "d/d/.../d/f".
func deepName(depth int) string {
	return strings.Repeat("d/", depth) + "f"
}

// deepImage is an OCI layout of one gzip layer holding e.
func deepImage(t testing.TB, e f) string {
	t.Helper()
	e.format = tar.FormatPAX
	return writeOCI(t, spec{layers: [][]f{{file("etc/ok", "ok"), e}}}.image(t))
}

// TestPathMax: a name, hard-link target or symlink target longer than
// PATH_MAX makes the layer corrupt (no unpacker can create it), and the
// 40,000-level path of issue 9 is turned down at once instead of costing
// time quadratic in its depth.
func TestPathMax(t *testing.T) {
	t.Parallel()
	long := deepName(40000)
	tests := []struct {
		name  string
		entry f
		ok    bool
	}{
		{name: "deep name", entry: file(long, "x")},
		{name: "longest allowed name", entry: file(strings.Repeat("n", pathMax-2), "x"), ok: true},
		{name: "name one byte too long", entry: file(strings.Repeat("n", pathMax-1), "x")},
		{name: "name cleaning to a short path", entry: file(strings.Repeat("d/../", 20000)+"f", "x"), ok: true},
		{name: "hard link target", entry: f{name: "l", typ: tar.TypeLink, link: long}},
		{name: "symlink target", entry: symlink("s", long)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ref := deepImage(t, tc.entry)
			c, err := New()
			if err != nil {
				t.Fatal(err)
			}
			// A hang guard only: the error comes back in milliseconds
			// (BenchmarkDeepPath); before the bound it took 15-20 s.
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			_, err = c.Fingerprint(ctx, ref)
			if tc.ok {
				if err != nil {
					t.Fatalf("Fingerprint: %v", err)
				}
				return
			}
			var pe *PathTooLongError
			if !errors.As(err, &pe) {
				t.Fatalf("Fingerprint: got %v, want a PathTooLongError", err)
			}
			if n := len(pe.Error()); n > 300 {
				t.Errorf("error is %d bytes long, want it cut: %.300s", n, pe)
			}
		})
	}
}

// BenchmarkDeepPath fingerprints a layer holding the 40,000-level path of
// issue 9 (turned down; it took 15-20 s, 86 s on a loaded machine, before
// PATH_MAX was enforced) and the deepest path PATH_MAX allows.
func BenchmarkDeepPath(b *testing.B) {
	for _, depth := range []int{40000, pathMax/2 - 2} {
		b.Run(fmt.Sprint(depth), func(b *testing.B) {
			ref := deepImage(b, file(deepName(depth), "x"))
			for b.Loop() {
				c, err := New()
				if err != nil {
					b.Fatal(err)
				}
				_, _ = c.Fingerprint(context.Background(), ref)
			}
		})
	}
}

// TestBoundedErrors: a huge bad value is quoted once, cut.
func TestBoundedErrors(t *testing.T) {
	t.Parallel()
	huge := "HUGE" + strings.Repeat("[", 100<<10)
	_, ignoreErr := New(WithIgnore("/" + huge))
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	_, refErr := c.Fingerprint(t.Context(), huge)
	for _, err := range []error{ignoreErr, refErr} {
		if err == nil || len(err.Error()) > 300 || strings.Count(err.Error(), "HUGE") != 1 {
			t.Errorf("error = %.400q (%d bytes), want the value once, cut", err, len(fmt.Sprint(err)))
		}
	}
}
