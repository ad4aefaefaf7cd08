package detect

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestLayerIndexes(t *testing.T) {
	t.Parallel()
	a := writeOCI(t, base().image(t))
	b := writeOCI(t, base().addLayer(file("bin/app", "new")).addLayer(f{name: "app/.wh.main.py"}).image(t))
	res := diff(t, a, b)
	var got []string
	for _, p := range res.Platforms {
		for _, c := range append(append(p.Added, p.Removed...), p.Modified...) {
			got = append(got, fmt.Sprintf("%s %d %d", c.Path, c.LayerA, c.LayerB))
		}
	}
	if d := cmp.Diff([]string{"/app/main.py 1 3", "/bin/app 0 2"}, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestLayerReadOnce(t *testing.T) {
	t.Parallel()
	var reads atomic.Int32
	c := newComparer(t, WithProgress(func(Progress) { reads.Add(1) }))
	a := writeOCI(t, base().image(t))
	b := writeOCI(t, base().addLayer(file("x", "1")).image(t))
	d := writeOCI(t, base().addLayer(file("x", "2")).image(t))
	for _, pair := range [][2]string{{a, b}, {a, d}, {b, d}} {
		diffWith(t, c, pair[0], pair[1])
	}
	// 2 base layers + 2 upper layers, each read once.
	if got := reads.Load(); got != 4 {
		t.Errorf("%d layer reads, want 4", got)
	}
}

func TestReadLayerErrors(t *testing.T) {
	t.Parallel()
	good := tarBytes(t, tarOpts{}, file("a", strings.Repeat("x", 2000)))
	for name, b := range map[string][]byte{
		"truncated tar":  good[:1000],
		"truncated gzip": gzipBytes(t, good, gzip.DefaultCompression)[:100],
		"garbage gzip":   append([]byte{0x1f, 0x8b}, bytes.Repeat([]byte{0xff}, 100)...),
	} {
		_, err := readBlob(bytes.NewReader(b))
		if err == nil {
			t.Errorf("%s: no error", name)
		} else if !errors.Is(err, io.ErrUnexpectedEOF) && !strings.Contains(err.Error(), "gzip") && !strings.Contains(err.Error(), "tar") && !strings.Contains(err.Error(), "flate") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestXattrs(t *testing.T) {
	t.Parallel()
	h := &tar.Header{PAXRecords: map[string]string{
		"SCHILY.xattr.security.capability": "\x01\x00",
		"LIBARCHIVE.xattr.user.x":          base64.StdEncoding.EncodeToString([]byte("hi")),
		"mtime":                            "1.5",
	}}
	want := map[string]string{"security.capability": "0100", "user.x": "6869"}
	if d := cmp.Diff(want, xattrs(h)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if got := xattrs(&tar.Header{PAXRecords: map[string]string{"mtime": "1"}}); got != nil {
		t.Errorf("xattrs = %v, want nil", got)
	}
}

func TestEntryJSON(t *testing.T) {
	t.Parallel()
	e := Entry{Path: "/bin/su", Type: TypeFile, Mode: 0o4755, Size: 3, Digest: "sha256:x", Layer: 2, Xattrs: map[string]string{"user.a": "01"}}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"path":"/bin/su","type":"file","mode":"4755","uid":0,"gid":0,"size":3,"digest":"sha256:x","xattrs":{"user.a":"01"},"layer":2}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	var back Entry
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(e, back, cmpopts.IgnoreUnexported(Entry{})); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
}

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
			c := newComparer(t)
			// A hang guard only: the error comes back in milliseconds
			// (BenchmarkDeepPath); before the bound it took 15-20 s.
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			_, err := c.Fingerprint(ctx, ref)
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
				c := newComparer(b)
				_, _ = c.Fingerprint(context.Background(), ref)
			}
		})
	}
}
