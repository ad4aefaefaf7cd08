package detect

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"

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
	c, err := New(WithProgress(func(Progress) { reads.Add(1) }))
	if err != nil {
		t.Fatal(err)
	}
	a := writeOCI(t, base().image(t))
	b := writeOCI(t, base().addLayer(file("x", "1")).image(t))
	d := writeOCI(t, base().addLayer(file("x", "2")).image(t))
	for _, pair := range [][2]string{{a, b}, {a, d}, {b, d}} {
		if _, err := c.Diff(t.Context(), pair[0], pair[1]); err != nil {
			t.Fatal(err)
		}
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
